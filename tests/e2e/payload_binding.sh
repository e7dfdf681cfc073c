#!/bin/bash
# A payload binds to another payload's symbols only along its depends chain
# (the payloads below it): then the provider cannot be reverted or unloaded
# under its callers. A payload built on the program itself must not bind to
# a symbol that some unrelated loaded payload happens to define.
source "$(dirname "$0")/lib.sh" "$1"

P_PROVIDER=$E2E_BUILD/provider.livepatch
P_STACKED=$E2E_BUILD/consumer-stacked.livepatch
P_UNSTACKED=$E2E_BUILD/consumer-unstacked.livepatch

start_target 2
xsp load "$P_PROVIDER"
expect_rc 0 "load the provider"
expect_extra "Provided World" "the provider is applied"

xsp upload unstacked "$P_UNSTACKED"
expect_rc 3 "a payload on the program itself cannot call into the provider (ENOENT)"
expect_err "lp_provider_word" "the reason names the symbol"
diag "$ERR"
expect_list "provider:APPLIED" "nothing kept"

xsp upload stacked "$P_STACKED"
expect_rc 0 "a payload stacked on the provider binds to its symbol"
diag "$ERR"
xsp apply stacked
expect_rc 0 "apply the stacked consumer"
expect_extra "Provided" "the consumer calls the provider's function"
xsp revert provider
expect_rc 4 "the provider cannot be reverted under its applied consumer"
expect_extra "Provided" "still the consumer"
xsp revert stacked
expect_rc 0 "revert the consumer"
xsp unload provider
expect_rc 4 "the provider cannot be unloaded under its loaded consumer"
xsp unload stacked
expect_rc 0 "unload the consumer"
xsp revert provider
expect_rc 0 "then revert the provider"
xsp unload provider
expect_rc 0 "and unload it"
expect_extra "-unstable" "the original version string again"

expect_alive
done_testing
