#!/bin/bash
# Stacking (the seed's build-id dependencies): bye is built on hello, so
# bye cannot be applied before hello, hello cannot be reverted while bye is
# applied nor unloaded while bye is loaded; the right order works. A refusal
# changes nothing.
source "$(dirname "$0")/lib.sh" "$1"
EINVAL=-22

start_target 4

# bye before hello is even loaded: its depends build-id is unknown.
xsp upload bye "$P_BYE"
expect_rc 4 "upload bye without hello: refused (exit 4)"
expect_err "build-id" "the refusal names the build-id bye depends on"
expect_list "" "nothing kept"

xsp upload hello "$P_HELLO"
expect_rc 0 "upload hello"
xsp upload bye "$P_BYE"
expect_rc 0 "upload bye on top of hello"

xsp apply bye
expect_rc 4 "apply bye before hello: refused (exit 4)"
expect_err "apply 'hello' first" "the refusal says to apply hello first"
expect_state bye CHECKED $EINVAL "bye stays CHECKED with rc -EINVAL" nonempty
expect_extra "-unstable" "nothing applied"

xsp replace bye
expect_rc 4 "replace with bye (stacked): refused (exit 4)"
expect_state bye CHECKED $EINVAL "bye stays CHECKED" nonempty

xsp unload hello
expect_rc 4 "unload hello while bye is loaded on it: refused (exit 4)"
expect_err "bye" "the refusal names bye"
expect_state hello CHECKED $EINVAL "hello stays CHECKED with rc -EINVAL" nonempty

xsp apply hello
expect_rc 0 "apply hello"
xsp apply bye
expect_rc 0 "apply bye after hello"
expect_extra "Bye World" "Bye World"

xsp revert hello
expect_rc 4 "revert hello while bye is applied: refused (exit 4)"
expect_err "revert 'bye' first" "the refusal says to revert bye first"
expect_state hello APPLIED $EINVAL "hello stays APPLIED with rc -EINVAL" nonempty
expect_state bye APPLIED 0 "bye stays APPLIED"
expect_extra "Bye World" "still Bye World"

xsp unload hello
expect_rc 4 "unload hello while applied and under bye: refused"
expect_state hello APPLIED $EINVAL "hello stays APPLIED" nonempty

xsp revert bye
expect_rc 0 "revert bye first"
expect_extra "Hello World" "Hello World again (hello still applied)"

xsp unload hello
expect_rc 4 "unload hello (APPLIED, bye still loaded): refused"

xsp revert hello
expect_rc 0 "then revert hello"
expect_extra "-unstable" "-unstable"

xsp unload hello
expect_rc 4 "unload hello while bye (CHECKED) is still loaded: refused"
expect_err "unload 'bye' first" "the refusal says to unload bye first"
expect_list "hello:CHECKED bye:CHECKED" "both still loaded"

xsp unload bye
expect_rc 0 "unload bye"
xsp unload hello
expect_rc 0 "then unload hello"
expect_list "" "nothing loaded"

# The CLI's load of bye alone: refused at upload, nothing left behind.
xsp load "$P_BYE"
expect_rc 4 "load bye alone: refused"
expect_list "" "nothing kept by the failed load"

expect_extra "-unstable" "-unstable at the end"
expect_alive
done_testing
