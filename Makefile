# The README's two commands are `go run ./cmd/local` and `scripts/test`;
# these targets are shortcuts for them and for the other tools.
.PHONY: run test unit fuzz lambdas bench loadtest fmt vet

run:            ## run the whole stack locally on 127.0.0.1:8080
	go run ./cmd/local

test:           ## every test tier (installs and starts dynalite)
	scripts/test

unit:           ## go test without dynalite (its subtests skip outside CI)
	go test -race ./...

fuzz:           ## every fuzz target for FUZZTIME (default 5s) each
	scripts/fuzz

lambdas:        ## build every function as bin/<name>/bootstrap (linux/arm64)
	scripts/build-lambdas

# sam build (BuildMethod: makefile, CodeUri: the module root) runs
# `make build-<LogicalId>` with ARTIFACTS_DIR set: XyzFunction is
# functions/xyz, built by the same script as `make lambdas`.
build-%Function:
	@test -n "$(ARTIFACTS_DIR)" || { echo 'make $@: set ARTIFACTS_DIR (sam build does), or run make lambdas' >&2; exit 2; }
	scripts/build-lambdas "$$(echo '$*' | tr '[:upper:]' '[:lower:]')" "$(ARTIFACTS_DIR)"

bench:          ## the benchmarks recorded in BENCHMARKS.md
	go test -run '^$$' -bench . -benchmem ./authorizer ./ratelimit ./internal/handlers ./internal/local/wsgateway ./internal/dynamo

loadtest:       ## the load generator against an embedded stack
	go run ./cmd/loadtest

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	go vet ./...
