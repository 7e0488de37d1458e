# PRIMA Partner API. `make help` lists the targets.
#
# Tools are pinned in go.mod as Go tools (go get -tool …) and run with `go tool`,
# so nothing but Go is needed: oapi-codegen (generate) and golangci-lint (lint).

GO ?= go
BIN ?= bin/prima
# Go files that gofmt must leave unchanged (generated code under gen/ is excluded).
FIND_GOFILES = find . -type f -name '*.go' -not -path './.git/*' -not -path './gen/*' -not -path './node_modules/*' -not -path './bin/*' -print0

.DEFAULT_GOAL := help

.PHONY: help run build test generate check-generate lint fmt-check vet golangci-lint bench cover tidy clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## run the server on the embedded SQLite database, seeding demo data if empty
	PRIMA_LOG_FORMAT=$${PRIMA_LOG_FORMAT:-text} $(GO) run ./cmd/prima serve --seed-demo-if-empty

build: ## build bin/prima
	$(GO) build -o $(BIN) ./cmd/prima

test: ## run all tests with the race detector
	$(GO) test -race -count=1 ./...

generate: ## regenerate code from the OpenAPI spec (go generate)
	$(GO) generate ./...

check-generate: generate ## fail if generated code is out of date with the spec
	@if ! git diff --exit-code --stat -- gen/ openapi/; then \
		echo "check-generate: generated files differ from the committed ones;" >&2; \
		echo "check-generate: run 'make generate' and commit gen/ and openapi/." >&2; \
		exit 1; \
	fi
	@untracked="$$(git status --porcelain --untracked-files=all -- gen/ | grep '^??' || true)"; \
	if [ -n "$$untracked" ]; then \
		echo "$$untracked" >&2; \
		echo "check-generate: 'make generate' created files that are not committed in gen/;" >&2; \
		echo "check-generate: add them (or remove their generator) and commit." >&2; \
		exit 1; \
	fi
	@echo "check-generate: generated code is up to date"

lint: fmt-check vet golangci-lint ## gofmt, go vet and golangci-lint

fmt-check:
	@unformatted="$$($(FIND_GOFILES) | xargs -0 -r gofmt -l)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt: these files need formatting (run gofmt -w):" >&2; \
		echo "$$unformatted" >&2; \
		exit 1; \
	fi

vet:
	$(GO) vet ./...

golangci-lint:
	$(GO) tool golangci-lint run ./...

bench: ## run the benchmarks (no tests)
	$(GO) test -run='^$$' -bench=. -benchmem ./...

cover: ## run the tests with coverage into coverage.out and coverage.html
	$(GO) test -count=1 -covermode=atomic -coverprofile=coverage.out ./...
	$(GO) tool cover -html=coverage.out -o coverage.html

tidy: ## go mod tidy
	$(GO) mod tidy

clean: ## remove build and coverage output (keeps ./data)
	rm -rf bin/ coverage.out coverage.html
