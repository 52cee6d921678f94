# zeropool-go: every target works on a fresh machine with Go and gcc.
GO      ?= go
CC      ?= gcc
LIB     := build/libzeropool.so
CFLAGS  ?= -Wall -Wextra -Werror -O2 -fPIC
PKGS    := ./...
TESTFLAGS ?= -count=1 -timeout 20m

.PHONY: all build lib ctest test test-default test-linecheck test-nocgo test-purego test-purego-nocgo test-race test-private test-runtimesecret vet fmt demo info bench fuzz clean

all: build

build: lib
	$(GO) build $(PKGS)

# The shared library that the purego backend loads (ZEROPOOL_LIB overrides its path).
lib: $(LIB)
$(LIB): csrc/zeropool.c csrc/zeropool.h build/lib.sh
	CC='$(CC)' CFLAGS='$(CFLAGS)' build/lib.sh $@

# The C library's own test, under AddressSanitizer and UndefinedBehaviorSanitizer.
ctest: build/ctest
	./build/ctest
build/ctest: csrc/zeropool.c csrc/zeropool.h csrc/zeropool_test.c build/ctest.sh
	CC='$(CC)' build/ctest.sh $@

# Every test in every build mode. This is what CI runs.
test: fmt vet ctest test-default test-nocgo test-purego test-purego-nocgo test-race test-linecheck test-private test-runtimesecret

test-default:
	$(GO) test $(TESTFLAGS) $(PKGS)
test-nocgo:
	CGO_ENABLED=0 $(GO) test $(TESTFLAGS) $(PKGS)
test-purego: lib
	ZEROPOOL_LIB=$(CURDIR)/$(LIB) $(GO) test $(TESTFLAGS) -tags zeropool_purego $(PKGS)
test-purego-nocgo: lib
	ZEROPOOL_LIB=$(CURDIR)/$(LIB) CGO_ENABLED=0 $(GO) test $(TESTFLAGS) -tags zeropool_purego $(PKGS)
test-race:
	$(GO) test $(TESTFLAGS) -race $(PKGS)
# The pool's fast paths record every cache line they write (build tag zeropool_linecheck), and
# its tests check that no line is written by two Ps, whatever path the buffers took.
test-linecheck:
	$(GO) test $(TESTFLAGS) -tags zeropool_linecheck -run LineOfTwoPs ./pool
# The runtime/secret recipe (internal/keyrecipe): its test is built only with the experiment,
# for which the toolchain builds the standard library once more (cached afterwards).
test-runtimesecret:
	GOEXPERIMENT=runtimesecret $(GO) test -count=1 ./internal/keyrecipe
# The suite again from a copy of the checkout that other users cannot enter (mode 0700).
test-private:
	MAKE='$(MAKE)' build/ci/private-checkout.sh

vet:
	$(GO) vet $(PKGS)
	CGO_ENABLED=0 $(GO) vet $(PKGS)
	$(GO) vet -tags zeropool_purego $(PKGS)
	CGO_ENABLED=0 $(GO) vet -tags zeropool_purego $(PKGS)
	$(GO) vet -tags zeropool_linecheck ./pool

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The main job: this machine's defaults, then the headline workload against make([]byte).
demo:
	$(GO) run ./cmd/zeropool info
	$(GO) run ./cmd/zeropool demo

info:
	$(GO) run ./cmd/zeropool info

# The peer comparison (a separate module: its dependencies stay out of go.mod).
bench:
	cd bench && $(MAKE) bench

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzPool -fuzztime 60s ./pool

clean:
	rm -f $(LIB) build/ctest

# ---- Modules of their own: bench/ and contrib/* --------------------------------------------
# Each has its own go.mod with a replace to this repository, so ./... above never reaches
# them. make test vets them in every build mode, runs bench/'s sanity tests (no benchmark, no
# timing) and the contrib modules' tests in every build mode, -race included.
BENCH_MOD   := bench
CONTRIB_MOD := contrib/grpcpool contrib/prometheus

.PHONY: vet-modules test-modules test-bench test-contrib

test: vet-modules test-modules

test-modules: test-bench test-contrib

vet-modules:
	@set -e; for m in $(BENCH_MOD) $(CONTRIB_MOD); do \
		echo "vet $$m"; \
		(cd $$m && $(GO) vet ./... && CGO_ENABLED=0 $(GO) vet ./... && \
			$(GO) vet -tags zeropool_purego ./... && CGO_ENABLED=0 $(GO) vet -tags zeropool_purego ./...); \
	done

test-bench:
	cd $(BENCH_MOD) && $(GO) test $(TESTFLAGS) ./...

test-contrib: lib
	@set -e; for m in $(CONTRIB_MOD); do \
		echo "test $$m"; \
		(cd $$m && $(GO) test $(TESTFLAGS) ./... && \
			CGO_ENABLED=0 $(GO) test $(TESTFLAGS) ./... && \
			ZEROPOOL_LIB=$(CURDIR)/$(LIB) $(GO) test $(TESTFLAGS) -tags zeropool_purego ./... && \
			ZEROPOOL_LIB=$(CURDIR)/$(LIB) CGO_ENABLED=0 $(GO) test $(TESTFLAGS) -tags zeropool_purego ./... && \
			$(GO) test $(TESTFLAGS) -race ./...); \
	done
