# Convenience targets around CMake + Ninja + CTest. CMake is the build
# system; this file only strings the usual steps together.
#
#   make demo      install deps, build (Release), run `voxtrack demo`
#   make test      install deps, build, run the tests; then again under ASan+UBSan
#   make test-tsan the threaded test programs under ThreadSanitizer (build-tsan/)
#   make build     configure and build (Release) in build/
#   make bench     build and run every benchmark program
#   make package   the Debian packages (CPack) in build-pkg/ (docs/DEPLOY.md)
#   make format    clang-format -i over the C sources
#   make clean     remove the build folders
#
# CTEST_ARGS passes options to ctest, e.g. `make test CTEST_ARGS="-L cli"`.

BUILD_DIR   ?= build
PKG_DIR     ?= build-pkg
ASAN_DIR    ?= build-asan
TSAN_DIR    ?= build-tsan
CTEST_ARGS  ?=
CTEST_JOBS  ?= 2

CMAKE       ?= cmake
CTEST       ?= ctest
CLANG_FORMAT ?= clang-format

ASAN_ENV = ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# The test programs whose code runs on more than one thread of ours (pthreads): the
# pipeline runner's producer/front/back threads, the transports' receive threads (TCP, shm,
# the file log, SAPIENT, CoT), the streamer, the monitor (libmicrohttpd's threads call into
# it), the alert watchdog and notifier, the log hook and concurrent image loads. Under
# ThreadSanitizer with OMP_THREAD_LIMIT=1: libgomp is not built with TSan (its barriers
# look like races to it), so every OpenMP region (the pipeline's per-camera stage, sync's
# slot reads, motion, background, voxel refinement, the renderer) runs on the calling
# thread and is not checked here; those regions share no writable state between
# iterations by design (each camera writes only its own slot). Left out: test_gige (Aravis
# streams on GLib threads that TSan cannot see into) and test_sync (its only concurrency is
# its OpenMP slot reads, and a test asserts that they overlap, which one thread cannot).
TSAN_TESTS = test_pipeline_run test_transport \
	test_transport_lz4 test_shm test_streamer test_monitor test_alert test_notify \
	test_sapient test_cot test_log test_image
TSAN_ENV = OMP_NUM_THREADS=1 OMP_THREAD_LIMIT=1 \
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:history_size=4

C_SOURCE_DIRS = apps bench include src tests

.PHONY: all deps configure build demo test test-release test-asan test-tsan bench package format clean

all: build

deps:
	scripts/install-deps

configure:
	$(CMAKE) -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: configure
	$(CMAKE) --build $(BUILD_DIR)

demo: deps
	$(MAKE) --no-print-directory build
	$(BUILD_DIR)/voxtrack demo

test: deps
	$(MAKE) --no-print-directory test-release
	$(MAKE) --no-print-directory test-asan

test-release: build
	$(CTEST) --test-dir $(BUILD_DIR) --output-on-failure -j$(CTEST_JOBS) $(CTEST_ARGS)

test-asan:
	$(CMAKE) -S . -B $(ASAN_DIR) -G Ninja -DVT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
		-DVT_BUILD_BENCH=OFF
	$(CMAKE) --build $(ASAN_DIR)
	$(ASAN_ENV) $(CTEST) --test-dir $(ASAN_DIR) --output-on-failure -j$(CTEST_JOBS) $(CTEST_ARGS)

test-tsan:
	$(CMAKE) -S . -B $(TSAN_DIR) -G Ninja -DVT_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug \
		-DVT_BUILD_BENCH=OFF
	$(CMAKE) --build $(TSAN_DIR) --target $(TSAN_TESTS)
	$(TSAN_ENV) $(CTEST) --test-dir $(TSAN_DIR) --output-on-failure -j$(CTEST_JOBS) \
		-R '^($(subst $(eval) ,|,$(strip $(TSAN_TESTS))))$$' $(CTEST_ARGS)

bench:
	$(CMAKE) -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DVT_BUILD_BENCH=ON
	$(CMAKE) --build $(BUILD_DIR)
	@set -e; found=0; \
	for b in $(BUILD_DIR)/bench/bench_*; do \
		[ -f "$$b" ] && [ -x "$$b" ] || continue; \
		found=1; echo "== $$b"; "$$b"; \
	done; \
	[ $$found = 1 ] || echo "no benchmark programs in $(BUILD_DIR)/bench"

# Release build under /usr with Debian's hardening flags (dpkg-buildflags), then CPack.
package: deps
	export DEB_BUILD_MAINT_OPTIONS=hardening=+all; \
	CFLAGS="$$(dpkg-buildflags --get CFLAGS) $$(dpkg-buildflags --get CPPFLAGS)" \
	LDFLAGS="$$(dpkg-buildflags --get LDFLAGS)" \
	$(CMAKE) -S . -B $(PKG_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
		-DVT_BUILD_TESTS=OFF -DVT_BUILD_BENCH=OFF -DVT_WERROR=OFF
	$(CMAKE) --build $(PKG_DIR)
	rm -f $(PKG_DIR)/*.deb
	cd $(PKG_DIR) && cpack -G DEB
	@ls -1 $(PKG_DIR)/*.deb

format:
	@command -v $(CLANG_FORMAT) >/dev/null 2>&1 || \
		{ echo "make format: $(CLANG_FORMAT) not found (apt-get install clang-format)" >&2; exit 1; }
	find $(C_SOURCE_DIRS) -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) \
		-print0 | xargs -0 -r $(CLANG_FORMAT) -i

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR) $(PKG_DIR)
