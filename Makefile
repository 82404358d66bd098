# Portico: two commands matter.
#   make run   - install dependencies, build, start Portico on examples/quickstart
#   make test  - install dependencies, build, run every test (unit tests also under ASan+UBSan)
# Others: make build | make bench | make bench-functions | make bench-validation | make bench-formatting | make bench-aggregation | make fuzz | make clean

JOBS ?= $(shell nproc)
BUILD_TYPE ?= Release
RELEASE_DIR := build/release
ASAN_DIR := build/asan
FUZZ_DIR := build/fuzz
FUZZ_SECONDS ?= 20

.PHONY: run test build deps asan fuzz-build fuzz bench bench-functions bench-validation bench-formatting bench-aggregation clean unit integration

deps:
	@scripts/install-deps

$(RELEASE_DIR)/build.ninja:
	cmake -S . -B $(RELEASE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(RELEASE_DIR)/build.ninja
	cmake --build $(RELEASE_DIR) -j $(JOBS)

run: build
	examples/quickstart/run $(RELEASE_DIR)/src/cli/portico

$(ASAN_DIR)/build.ninja:
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPORTICO_SANITIZE=ON -DPORTICO_BENCH=OFF

asan: deps $(ASAN_DIR)/build.ninja
	cmake --build $(ASAN_DIR) -j $(JOBS)

$(FUZZ_DIR)/build.ninja:
	CXX=clang++ cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTICO_FUZZ=ON

fuzz-build: deps $(FUZZ_DIR)/build.ninja
	cmake --build $(FUZZ_DIR) -j $(JOBS)

# Every test: unit + integration on the release build, unit + integration under
# ASan/UBSan, and a short fuzzing run of each parser (FUZZ_SECONDS each).
test: build asan fuzz-build
	cd $(RELEASE_DIR) && ctest --output-on-failure -j 2
	cd $(ASAN_DIR) && ctest --output-on-failure -j 2
	tests/fuzz/run $(FUZZ_DIR) $(FUZZ_SECONDS)

unit: build
	cd $(RELEASE_DIR) && ctest --output-on-failure -L unit

integration: build
	cd $(RELEASE_DIR) && ctest --output-on-failure -L integration

# Longer fuzzing: make fuzz FUZZ_SECONDS=600
fuzz: fuzz-build
	tests/fuzz/run $(FUZZ_DIR) $(FUZZ_SECONDS)

bench: build
	bench/proxy-bench $(RELEASE_DIR)/src/cli/portico

# Functions: warm invocations, local emulators, cold starts, authorizer cache (~7 minutes)
bench-functions: build
	bench/functions-bench $(RELEASE_DIR)/src/cli/portico

# Validation: per-document and per-route costs (the JSON Schema suite, a development
# check on ../shared: build/release/bench/schema_suite ../shared/jsonschema-suite)
bench-validation: build
	$(RELEASE_DIR)/bench/schema_bench
	bench/validation-bench $(RELEASE_DIR)/src/cli/portico

# Formatting: a route's formatted responses (declarative, jq) against the plain route
bench-formatting: build
	bench/formatting-bench $(RELEASE_DIR)/src/cli/portico

# Aggregation: one request to 3 backends against the 3 client calls it replaces (CPU, latency)
bench-aggregation: build
	bench/aggregation-bench $(RELEASE_DIR)/src/cli/portico

clean:
	rm -rf build
