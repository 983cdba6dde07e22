# The two commands of the README:
#   make run    installs what is missing, builds, starts strata on :8080 with ./data
#   make test   installs what is missing, builds, runs every test
BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= 2
PORT       ?= 8080
DATA       ?= ./data

.PHONY: all deps models onnxruntime build run test asan bench bench-beir clean

all: build

deps:
	@bash scripts/deps.sh

# Model files into .cache/models (GloVe vectors, fastText language id).
models: deps
	@bash scripts/fetch_models.sh
	@bash scripts/fetch_tfjs.sh
	@bash scripts/fetch_vad.sh

# ONNX Runtime into .cache/onnxruntime (the C header the build needs, the library
# that user-brought ONNX models run on).
onnxruntime: deps
	@bash scripts/fetch_onnxruntime.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps models onnxruntime $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/strata serve --data $(DATA) --port $(PORT)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# AddressSanitizer + UndefinedBehaviorSanitizer build of the whole suite.
asan: deps models onnxruntime
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSTRATA_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	# The TF.js parity runs (label models) are JavaScript against ONNX Runtime: no sanitized code in them.
	# Third-party libraries' process-lifetime allocations are not Strata's leaks: tests/lsan.supp.
	cd build-asan && LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp ctest --output-on-failure -j $(JOBS) -LE models

bench: build
	$(BUILD)/bench/strata_bench_ingest
	$(BUILD)/bench/strata_bench_engine
	$(BUILD)/bench/strata_bench_api
	$(BUILD)/bench/strata_bench_ann --queries 1000

# Retrieval quality (nDCG@10, recall@100) on the BEIR-layout sets of ../shared/data,
# through the HTTP API of a strata started for the run; see BENCHMARKS.md.
bench-beir: build
	python3 bench/beir_bench.py --strata-bin $(BUILD)/strata --data ../shared/data/cranfield --data ../shared/data/npl

clean:
	rm -rf $(BUILD) build-asan
