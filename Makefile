# What people type. The real build is Meson + ninja in build/ (and
# build-asan/ for the sanitizer run of `make check`).
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_RELEASE ?= build-release
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 300
PREFIX     ?= /usr/local
MESON_OPTS ?=

.PHONY: all deps build release demo check check-quick stress bench-pause bench-start bench-dlopen bench-fleet bench-redis bench-idle install clean fuzz stress-long corpus

all: build

deps:
	@scripts/install-deps.sh build

$(BUILD)/build.ninja:
	@scripts/install-deps.sh build
	meson setup $(BUILD) $(MESON_OPTS) >/dev/null

$(BUILD_RELEASE)/build.ninja:
	meson setup $(BUILD_RELEASE) -Dbuildtype=release -Dtests=false $(MESON_OPTS) >/dev/null

$(BUILD_ASAN)/build.ninja:
	meson setup $(BUILD_ASAN) -Db_sanitize=address,undefined -Db_lundef=false $(MESON_OPTS) >/dev/null

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo:
	@scripts/install-deps.sh build
	@$(MAKE) --no-print-directory build
	@examples/demo/run-demo.sh $(BUILD)

# Every test, in the normal build and under ASan+UBSan; ends "N passed, N failed".
# The release configuration (-O3, as distributions build) is compiled too,
# warnings as errors.
check:
	@scripts/install-deps.sh check
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory release
	@$(MAKE) --no-print-directory $(BUILD_ASAN)/build.ninja
	ninja -C $(BUILD_ASAN)
	@FUZZ_BUILD=$(BUILD_FUZZ) tests/run-all.sh $(BUILD) $(BUILD_ASAN)

# The corpus of real Debian security fixes (tests/corpus/README.md): long,
# not part of check (whose short form runs two of its cases).
corpus:
	@scripts/install-deps.sh corpus
	@$(MAKE) --no-print-directory build
	@tests/corpus/run-corpus.sh $(BUILD)

release: $(BUILD_RELEASE)/build.ninja
	ninja -C $(BUILD_RELEASE)

# The libFuzzer harnesses (clang), FUZZ_SECONDS each, in parallel, from the
# seed corpora in tests/fuzz/seeds/ (make check runs them for 60 s).
fuzz:
	@scripts/install-deps.sh check
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(BUILD_FUZZ)

stress: build
	@XSPLICE_STRESS_CYCLES=10000 tests/stress/run-stress.sh $(BUILD)

# The long tests make check leaves out (1,000 attaches, ...).
stress-long: build
	meson test -C $(BUILD) --suite stress-long --print-errorlogs

bench-pause: build
	@$(BUILD)/bench/bench-pause

bench-start: build
	@bench/start_cost.sh $(BUILD)
# CPU per dlopen+dlclose round with and without the agent's loader hook.
bench-dlopen: build
	@bench/dlopen_cost.sh $(BUILD)
# xsplice load --all over 200 processes, with the agent and by attach
# (ms per process); BENCH_FLEET_N / BENCH_FLEET_JOBS to vary it.
bench-fleet: build
	@scripts/install-deps.sh bench
	@bench/fleet.sh $(BUILD) $(or $(BENCH_FLEET_N),200) $(BENCH_FLEET_JOBS)

bench-redis: build
	@scripts/install-deps.sh bench
	@bench/bench-redis.sh $(BUILD)

bench-idle: build
	@bench/bench-idle.sh $(BUILD)

install: build
	meson configure $(BUILD) -Dprefix=$(abspath $(PREFIX)) >/dev/null
	meson install -C $(BUILD) --quiet

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_RELEASE) $(BUILD_FUZZ)
