# The two commands a fresh machine needs: `make run` and `make test`.
GO ?= go
BIN := bin/matrix

.PHONY: build run test vet bench soak clean

build:
	$(GO) build -o $(BIN) ./cmd/matrix

# The default matrix on its quick profile, on its Go columns: the packaged
# servers need the Debian base image (scripts/debian-base.sh, minutes), so
# they run in the nightly (scripts/nightly.sh). RUN_SERVERS= runs them all.
RUN_SERVERS ?= --server go-stdlib --server fasthttp
run: build
	./$(BIN) run --profile quick $(RUN_SERVERS)

# gofmt, go vet and staticcheck (2026.2.2, pinned, fetched through the module
# proxy on first use).
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Unit, end-to-end and real-engine tests (MATRIX_REQUIRE_DOCKER=1 makes the
# engine tests fail instead of skipping when no engine answers).
test: vet
	$(GO) test -race -timeout 15m ./...

# Side-by-side figures against wrk and h2load; needs the Debian peers.
bench: build
	./scripts/bench.sh

soak: build
	./scripts/soak.sh

clean:
	rm -rf bin
