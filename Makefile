# The front door. `make` builds the release preset into build/; `make test` and `make demo`
# first install whatever Debian packages are missing (scripts/install-deps).
PREFIX ?= /usr/local
PRESET ?= release
BUILD_DIR := $(if $(filter release,$(PRESET)),build,build-$(PRESET))
JOBS ?= $(shell nproc)

.PHONY: all build deps test unit integration demo install deb clean format bench fuzz

all: build

deps:
	@bash scripts/install-deps

build:
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then cmake --preset $(PRESET) >/dev/null; fi
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Debian's gRPC, Abseil and OpenSSL are not built for ThreadSanitizer; see tests/tsan.supp.
export TSAN_OPTIONS ?= suppressions=$(CURDIR)/tests/tsan.supp

# ctest's fuzz.smoke runs the fuzz targets for a few seconds each when a fuzz build is
# configured: configure one wherever clang is (install-deps installs it).
test: deps build
	@if command -v clang++ >/dev/null && [ ! -f build-fuzz/build.ninja ]; then \
	  cmake --preset fuzz >/dev/null; fi
	cd $(BUILD_DIR) && ctest --output-on-failure -j 2

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit

integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L integration

demo: deps build
	bash scripts/demo.sh

# DESTDIR=/tmp/stage stages the tree (what packagers do); the units go to PREFIX/lib/systemd/system.
install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR) --prefix $(PREFIX) --strip

# What is installed, and only that, built; then $(BUILD_DIR)/shoal_<version>_<arch>.deb.
INSTALLED_TARGETS := shoal shoal-controller shoal-emulator shoal-agent shoal-supervisor
deb:
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then cmake --preset $(PRESET) >/dev/null; fi
	cmake --build $(BUILD_DIR) -j $(JOBS) --target $(INSTALLED_TARGETS)
	cd $(BUILD_DIR) && cpack -G DEB

bench: deps build
	bash bench/run.sh

# libFuzzer targets (clang, ASan + UBSan) in build-fuzz/, a few seconds each.
fuzz: deps
	@if [ ! -f build-fuzz/build.ninja ]; then cmake --preset fuzz >/dev/null; fi
	bash fuzz/run.sh ci build-fuzz

format:
	find src bench -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf build build-*
