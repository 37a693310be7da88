# A thin driver for CMake. `make run` and `make test` are the two commands.
BUILD   ?= build
ASAN    ?= build-asan
RELEASE ?= build-release
FUZZ    ?= build-fuzz
PREFIX  ?= /usr/local
FUZZ_SECONDS ?= 10
JOBS    ?= $(shell nproc)

.PHONY: all deps deps-test build release run install test test-asan fuzz bench soak clean

all: build

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

# configured once (a BUILD of another type, e.g. build-asan, keeps its type)
build: deps
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# The node of the home the CLI finds (README "The home": $LEITHER_HOME, else
# ~/.leither), made on first use, in the foreground with the apps installed.
# The build is quiet unless it fails; a node already running is left alone.
run: deps
	@exec scripts/run.sh $(BUILD) $(JOBS)

# leither, and lapp (a link to it), in $(DESTDIR)$(PREFIX)/bin
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/leither $(DESTDIR)$(PREFIX)/bin/leither
	ln -sf leither $(DESTDIR)$(PREFIX)/bin/lapp

# ctest (two at a time: the specs mostly wait on their nodes), the Release
# build, the fuzzers, then ctest again under the sanitizers, two at a time.
test: deps-test build
	cd $(BUILD) && ctest -j2 --output-on-failure
	$(MAKE) --no-print-directory release
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory test-asan

# The build packagers run (-O3 finds warnings -O2 does not): it must build.
release:
	@cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(RELEASE) -j$(JOBS) --target leither

# The C tests and the integration suite once more under ASan + UBSan.
test-asan:
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DLEITHER_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN) -j$(JOBS)
	cd $(ASAN) && ctest -j2 --output-on-failure

# Each libFuzzer target for FUZZ_SECONDS; a crash input lands in $(FUZZ)/.
fuzz:
	@cmake -S . -B $(FUZZ) -DCMAKE_C_COMPILER=clang -DLEITHER_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ) -j$(JOBS) --target fuzz_targets
	@set -e; for f in $(FUZZ)/tests/fuzz_*; do \
	  name=$$(basename $$f); mkdir -p $(FUZZ)/corpus/$$name; \
	  echo "fuzzing $$name for $(FUZZ_SECONDS) s"; \
	  if ! $$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -artifact_prefix=$(FUZZ)/ \
	      $(FUZZ)/corpus/$$name tests/fuzz/seeds/$$name >$(FUZZ)/$$name.log 2>&1; then \
	    tail -n 40 $(FUZZ)/$$name.log; echo "$$name FAILED"; exit 1; fi; \
	  tail -n 1 $(FUZZ)/$$name.log; \
	done

bench: build
	@scripts/deps.sh bench
	tests/bench/footprint.sh $(BUILD)/leither
	tests/bench/resp.sh $(BUILD)/leither
	tests/bench/add.sh $(BUILD)/leither
	tests/bench/http.sh $(BUILD)/leither
	tests/bench/sync.sh $(BUILD)/leither
	tests/bench/smt.sh $(BUILD)/tests/smt_bench

# Mixed and hostile traffic against a real node for SOAK_SECONDS (default 600):
# RSS and open files printed, exits 1 on a crash. Not part of `make test`.
soak: build
	tests/soak/soak.sh $(BUILD)/leither $(BUILD)/tests/signed_flood

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
