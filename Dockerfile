# Runs exactly what CI runs, `make test`, in a container:
#
#   docker build -t zeropool-go .
#   docker run --rm --cap-add IPC_LOCK --ulimit memlock=-1:-1 zeropool-go
#
# Docker's default capabilities leave out CAP_IPC_LOCK, even for root, and its default
# RLIMIT_MEMLOCK is small: without the two flags the tests that lock memory run on their own
# skip logic instead of in full.
FROM golang:1.26-bookworm

# The golang images carry gcc, libc6-dev and make; install them only where a base lacks them.
# gcc brings the AddressSanitizer and UBSan runtimes that `make ctest` links.
RUN if ! command -v gcc >/dev/null || ! command -v make >/dev/null; then \
        apt-get update \
        && apt-get install -y --no-install-recommends gcc libc6-dev make \
        && rm -rf /var/lib/apt/lists/*; \
    fi

WORKDIR /src

# Modules first: a change to the code then reuses this layer.
COPY go.mod go.sum ./
RUN go mod download

COPY . .

# A broken build fails the image, not the test run. Clean first so that no build output
# copied from the host stands in for one built here.
RUN make clean && make build

CMD ["make", "test"]
