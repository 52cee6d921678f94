# zeropool-go: every target works on a fresh machine with Go and gcc.
#
#   make test    everything CI runs (.ci/run): formatting, vet and staticcheck in every build
#                mode, the C library's test, the suite in every build mode, the modules of
#                their own (bench/, contrib/*), the portable backend and the other systems
#   make build   the packages and the shared library; make lib only the library
#   make demo, make info, make bench, make fuzz, make clean
GO      ?= go
CC      ?= gcc
LIB     := build/libzeropool.so
CFLAGS  ?= -Wall -Wextra -Werror -O2 -fPIC
PKGS    := ./...
TESTFLAGS ?= -count=1 -timeout 20m

# Every go command below builds the module it runs in, as a user's build would: GOWORK=off
# keeps a go.work file above the checkout (a developer's own workspace) from changing the
# versions built and tested, and -mod=readonly, added to whatever GOFLAGS the environment
# sets, refuses to edit a go.mod or go.sum behind the suite's back. Sub-makes inherit both.
export GOWORK  := off
export GOFLAGS := $(GOFLAGS) -mod=readonly

# Modules of their own: bench/ and contrib/*. Each has its own go.mod, so ./... never reaches
# them. It requires the other modules of this repository at a release (RELEASE), as a user's
# go.mod would, and replaces them with the checkout: a build of the module itself uses this
# repository's code, while a program that requires the module ignores the replace and gets the
# release from the module proxy.
BENCH_MOD   := bench
CONTRIB_MOD := contrib/grpcpool contrib/prometheus
RELEASE     := v0.1.0
# Other dependency sets a module is tested with (go test -modfile=F): grpcpool's go.mod
# requires the oldest grpc its doc promises, this file the newest tested.
EXTRA_MODFILES := contrib/grpcpool/grpc-latest.mod

# The other systems that make cross builds and vets every module for.
CROSS_GOOS := darwin windows freebsd

# The staticcheck release build/staticcheck.sh runs (through go run: nothing to install).
STATICCHECK_VERSION := v0.8.2

.PHONY: all build lib ctest clean \
	test test-default test-nocgo test-purego test-purego-nocgo test-race test-linecheck test-private \
	test-runtimesecret test-modules test-bench test-contrib test-portable \
	fmt vet vet-modules vet-portable staticcheck mod-check cross \
	demo info bench fuzz

all: build

# ---- Everything CI runs ---------------------------------------------------------------------
# One list, in the order it runs: checks of the source first, then the suites.
test: fmt vet staticcheck mod-check ctest \
	test-default test-nocgo test-purego test-purego-nocgo test-race test-linecheck test-private test-runtimesecret \
	vet-modules test-modules vet-portable test-portable cross

# ---- Building ---------------------------------------------------------------------------------
build: lib
	$(GO) build $(PKGS)

# The shared library that the purego backend loads (ZEROPOOL_LIB overrides its path).
lib: $(LIB)
$(LIB): csrc/zeropool.c csrc/zeropool.h build/lib.sh
	CC='$(CC)' CFLAGS='$(CFLAGS)' build/lib.sh $@

clean:
	rm -f $(LIB) build/ctest

# ---- Checks of the source: formatting, vet, staticcheck, go.mod files ----------------------
fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The root module in every Linux build mode; vet-portable and cross below vet the others.
vet:
	$(GO) vet $(PKGS)
	CGO_ENABLED=0 $(GO) vet $(PKGS)
	$(GO) vet -tags zeropool_purego $(PKGS)
	CGO_ENABLED=0 $(GO) vet -tags zeropool_purego $(PKGS)
	$(GO) vet -tags zeropool_checks $(PKGS)
	$(GO) vet -tags zeropool_linecheck ./pool

# The modules of their own in every Linux build mode, and with their other dependency sets.
vet-modules:
	@set -e; for m in $(BENCH_MOD) $(CONTRIB_MOD); do \
		echo "vet $$m"; \
		(cd $$m && $(GO) vet ./... && CGO_ENABLED=0 $(GO) vet ./... && \
			$(GO) vet -tags zeropool_purego ./... && CGO_ENABLED=0 $(GO) vet -tags zeropool_purego ./...); \
	done; \
	for f in $(EXTRA_MODFILES); do \
		echo "vet $$f"; \
		(cd $$(dirname $$f) && $(GO) vet -modfile=$$(basename $$f) ./...); \
	done

# staticcheck over every package of every module, in every build configuration at once (the
# list is in build/staticcheck.sh).
staticcheck:
	@set -e; \
	for m in . $(BENCH_MOD) $(CONTRIB_MOD); do \
		echo "staticcheck $$m"; \
		(cd $$m && GO='$(GO)' STATICCHECK_VERSION=$(STATICCHECK_VERSION) $(CURDIR)/build/staticcheck.sh ./...); \
	done

# Every go.mod and go.sum is tidy (what tidy would change is printed), and every require of a
# module of this repository names RELEASE: a bump is made in all of them at once.
mod-check:
	@set -e; for m in . $(BENCH_MOD) $(CONTRIB_MOD); do \
		(cd $$m && $(GO) mod tidy -diff) || { echo "mod-check: $$m needs go mod tidy"; exit 1; }; \
	done; \
	for f in $(EXTRA_MODFILES); do \
		(cd $$(dirname $$f) && $(GO) mod tidy -modfile=$$(basename $$f) -diff) || { echo "mod-check: $$f needs go mod tidy -modfile"; exit 1; }; \
	done; \
	bad=$$(grep -H '^[[:space:]]*github.com/zeropool-go/zeropool[^ ]* v' $(BENCH_MOD)/go.mod $(addsuffix /go.mod,$(CONTRIB_MOD)) $(EXTRA_MODFILES) \
		| grep -v ' $(RELEASE)$$' || true); \
	if [ -n "$$bad" ]; then echo "mod-check: requires of this repository's modules must name $(RELEASE):"; echo "$$bad"; exit 1; fi

# ---- The C library ---------------------------------------------------------------------------
# Its own test, under AddressSanitizer and UndefinedBehaviorSanitizer.
ctest: build/ctest
	./build/ctest
build/ctest: csrc/zeropool.c csrc/zeropool.h csrc/zeropool_test.c build/ctest.sh
	CC='$(CC)' build/ctest.sh $@

# ---- The root module's suite in every Linux build mode --------------------------------------
test-default:
	$(GO) test $(TESTFLAGS) $(PKGS)
test-nocgo:
	CGO_ENABLED=0 $(GO) test $(TESTFLAGS) $(PKGS)
test-purego: lib
	ZEROPOOL_LIB=$(CURDIR)/$(LIB) $(GO) test $(TESTFLAGS) -tags zeropool_purego $(PKGS)
test-purego-nocgo: lib
	ZEROPOOL_LIB=$(CURDIR)/$(LIB) CGO_ENABLED=0 $(GO) test $(TESTFLAGS) -tags zeropool_purego $(PKGS)
# The race run also asserts the pool's internal invariants (build tag zeropool_checks: magazine
# bounds, the idle budget, state-byte transitions), throwing on a broken one.
test-race:
	$(GO) test $(TESTFLAGS) -race -tags zeropool_checks $(PKGS)
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

# ---- The modules of their own -----------------------------------------------------------------
# bench/'s sanity tests (no benchmark, no timing), and the contrib modules' tests in every
# build mode, -race included, and with their other dependency sets.
test-modules: test-bench test-contrib

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
	done; \
	for f in $(EXTRA_MODFILES); do \
		echo "test $$f"; \
		(cd $$(dirname $$f) && $(GO) test $(TESTFLAGS) -modfile=$$(basename $$f) ./... && \
			$(GO) test $(TESTFLAGS) -race -modfile=$$(basename $$f) ./...); \
	done

# ---- Other systems: the portable backend ------------------------------------------------------
# On Linux, -tags zeropool_portable builds what other systems build (offheap's portable
# backend over mmap, the refusals of what needs Linux) and zeropool_gomem with it the
# portable backend over Go memory, as on windows, plan9, js and wasip1: the suite runs in
# both. make cross builds and vets every module for CROSS_GOOS; internal/sameapi checks that
# the public API is the same on every GOOS.
vet-portable:
	$(GO) vet -tags zeropool_portable $(PKGS)
	$(GO) vet -tags zeropool_portable,zeropool_gomem $(PKGS)

test-portable:
	$(GO) test $(TESTFLAGS) -tags zeropool_portable $(PKGS)
	$(GO) test $(TESTFLAGS) -tags zeropool_portable,zeropool_gomem $(PKGS)
	@set -e; for m in $(CONTRIB_MOD); do \
		echo "test $$m (portable)"; \
		(cd $$m && $(GO) test $(TESTFLAGS) -tags zeropool_portable ./...); \
	done

cross:
	@set -e; for os in $(CROSS_GOOS); do \
		for m in . $(BENCH_MOD) $(CONTRIB_MOD); do \
			echo "GOOS=$$os: build and vet $$m"; \
			(cd $$m && GOOS=$$os CGO_ENABLED=0 $(GO) build ./... && GOOS=$$os CGO_ENABLED=0 $(GO) vet ./...); \
		done; \
	done

# ---- Running it ---------------------------------------------------------------------------------
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
