# The two commands a new user needs: `make demo` and `make test`. Everything else is a shortcut.
PRESET ?= dev
BUILD := build/$(PRESET)
JOBS ?= $(shell nproc)
VECTORS ?= ../shared/conformance/hpa_vectors.json ../shared/conformance/kpa_vectors.json

.PHONY: all deps configure build test test-asan demo conformance bench footprint format clean

all: build

deps:
	@scripts/install-deps

configure: deps
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# Unit tests, conformance and integration tests (ctest), in the dev preset.
test: build
	@ctest --preset $(PRESET) -j $(JOBS)

# Every test again under address + undefined-behaviour sanitizers.
test-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build build/asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS)

demo: build
	@$(BUILD)/tide demo --report $(BUILD)/tide-demo.html

conformance: build
	@$(BUILD)/tide-conformance $(VECTORS)

# Google Benchmark: the decision core and the simulator (release preset).
bench: deps
	@cmake --preset release >/dev/null
	@cmake --build build/release -j $(JOBS) --target decide_bench simulate_bench forecast_bench
	@build/release/decide_bench --benchmark_counters_tabular=true
	@build/release/simulate_bench --benchmark_counters_tabular=true
	@build/release/forecast_bench --benchmark_counters_tabular=true

# Idle RSS and CPU of `tide run` with 100 groups (README, "Speed and footprint").
footprint: deps
	@cmake --preset release >/dev/null
	@cmake --build build/release -j $(JOBS) --target tide
	@bench/footprint.sh build/release

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	@rm -rf build
