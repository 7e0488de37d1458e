# PRIMA Partner API. `make help` lists the targets.
#
# Go tools are pinned in their own module, tools/go.mod (go get -tool …), so the
# product's go.mod holds only what the server and its tests import; they run with
# `go tool -modfile=tools/go.mod`, so nothing but Go is needed: oapi-codegen
# (generate) and golangci-lint (lint).

GO ?= go
GO_TOOL = $(GO) tool -modfile=tools/go.mod
BIN ?= bin/prima
# Go files that gofmt must leave unchanged (generated code under gen/ is excluded).
FIND_GOFILES = find . -type f -name '*.go' -not -path './.git/*' -not -path './gen/*' -not -path './sdk/go/*.gen.go' -not -path '*/node_modules/*' -not -path './bin/*' -print0

.DEFAULT_GOAL := help

.PHONY: help run build test test-unit fuzz generate check-generate lint fmt-check vet golangci-lint check-tidy check-files bench cover tidy clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## run the server on the embedded SQLite database, seeding demo data if empty
	PRIMA_LOG_FORMAT=$${PRIMA_LOG_FORMAT:-text} $(GO) run ./cmd/prima serve --seed-demo-if-empty

build: ## build bin/prima
	$(GO) build -o $(BIN) ./cmd/prima

test: ## run all tests with the race detector (the spec-driven fuzzing at 200 requests per operation; make fuzz runs 1,000)
	PRIMA_FUZZ_REQUESTS=$${PRIMA_FUZZ_REQUESTS:-200} $(GO) test -race -count=1 -timeout 30m ./...

test-unit: ## the domain's fast unit tests, in seconds: internal/ and payments/ without a database server (PostgreSQL-only tests skip)
	env -u PRIMA_TEST_DATABASE_URL -u PRIMA_REQUIRE_INTEGRATION $(GO) test -count=1 ./internal/... ./payments/...

fuzz: ## the spec-driven fuzzing at 1,000 requests per operation (100 on PostgreSQL), without the race detector
	PRIMA_FUZZ_REQUESTS=$${PRIMA_FUZZ_REQUESTS:-1000} $(GO) test -count=1 -timeout 30m -run 'TestSpecDrivenFuzzing' ./server/

generate: ## regenerate code from the OpenAPI spec (go generate)
	$(GO) generate ./...

check-generate: generate ## fail if generated code is out of date with the spec
	@if ! git diff --exit-code --stat -- gen/ openapi/ sdk/go/; then \
		echo "check-generate: generated files differ from the committed ones;" >&2; \
		echo "check-generate: run 'make generate' and commit gen/, sdk/go/ and openapi/." >&2; \
		exit 1; \
	fi
	@untracked="$$(git status --porcelain --untracked-files=all -- gen/ sdk/go/ | grep '^??' || true)"; \
	if [ -n "$$untracked" ]; then \
		echo "$$untracked" >&2; \
		echo "check-generate: 'make generate' created files that are not committed in gen/ or sdk/go/;" >&2; \
		echo "check-generate: add them (or remove their generator) and commit." >&2; \
		exit 1; \
	fi
	@echo "check-generate: generated code is up to date"

lint: fmt-check vet golangci-lint check-tidy check-files ## gofmt, go vet, golangci-lint (with the layering rules), tidy modules, no large or binary files in git

fmt-check:
	@unformatted="$$($(FIND_GOFILES) | xargs -0 -r gofmt -l)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt: these files need formatting (run gofmt -w):" >&2; \
		echo "$$unformatted" >&2; \
		exit 1; \
	fi

vet:
	$(GO) vet ./...
	cd sdk/go && $(GO) vet ./...

golangci-lint:
	$(GO_TOOL) golangci-lint run ./...
	cd sdk/go && $(GO) tool -modfile=../../tools/go.mod golangci-lint run --config ../../.golangci.yml ./...

check-tidy: ## fail if go mod tidy would change go.mod or go.sum (the product's module, the Go SDK's and tools/)
	$(GO) mod tidy -diff
	cd sdk/go && $(GO) mod tidy -diff
	cd tools && $(GO) mod tidy -diff

check-files: ## fail on a tracked file over 1 MB (outside scripts/large-files.allow) or a tracked executable binary
	scripts/check-tracked-files.sh

# BENCH_FLAGS: e.g. `-d 5s -c 16`; `go run ./cmd/bench -h` lists them.
bench: ## benchmark against PostgreSQL at PRIMA_BENCH_DATABASE_URL or PRIMA_DATABASE_URL (a few minutes, loopback): table, docs/benchmarks/results/latest.{json,png}
	$(GO) run ./cmd/bench $(BENCH_FLAGS)

cover: ## run the tests with coverage into coverage.out and coverage.html
	$(GO) test -count=1 -covermode=atomic -coverprofile=coverage.out ./...
	$(GO) tool cover -html=coverage.out -o coverage.html

tidy: ## go mod tidy (the product's module and tools/)
	$(GO) mod tidy
	cd tools && $(GO) mod tidy

clean: ## remove build and coverage output (keeps ./data)
	rm -rf bin/ coverage.out coverage.html

# ---------------------------------------------------------------------------------
# Node tools: the spec linter, the TypeScript SDK and the browser test. Only these
# targets need Node (>= 20) and npm; each folder has its own package.json and
# lockfile, with every version pinned, and is installed with `npm ci`.
#   tools/redocly   @redocly/cli, lints openapi/prima.yaml, partner.json, operator.json
#   tools/spectral  @stoplight/spectral-cli, lints the same with spectral:oas
#   tools/prism     @stoplight/prism-cli, the validating proxy of make contract-proxy
#   sdk/typescript  openapi-typescript, openapi-fetch, typescript: the typed client
#   test/e2e        playwright-core, driving Debian's /usr/bin/chromium (never a
#                   downloaded browser)
#   test/clients/heyapi  @hey-api/openapi-ts and zod: a TypeScript client made by a
#                   generator the project does not use, for make clients
#   tools/squawk    squawk (the PostgreSQL migration linter): squawk-cli's Linux x64
#                   package, which holds the prebuilt binary and has no install script.
#                   squawk-cli itself needs a lockfile naming all five platform packages,
#                   and the registry mirror here serves only linux-x64; it is optional, so
#                   npm ci elsewhere skips it (and lint-migrations says so).

NPM ?= npm
# --ignore-scripts: none of the pinned packages needs an install script.
NPM_CI = $(NPM) ci --no-audit --no-fund --ignore-scripts
REDOCLY_DIR := tools/redocly
SDK_DIR := sdk/typescript
E2E_DIR := test/e2e
SQUAWK_DIR := tools/squawk
PRISM_DIR := tools/prism
HEYAPI_DIR := test/clients/heyapi
SPECTRAL_DIR := tools/spectral
NODE_DEPS := $(SPECTRAL_DIR)/node_modules/.package-lock.json $(REDOCLY_DIR)/node_modules/.package-lock.json $(SDK_DIR)/node_modules/.package-lock.json $(E2E_DIR)/node_modules/.package-lock.json $(SQUAWK_DIR)/node_modules/.package-lock.json $(PRISM_DIR)/node_modules/.package-lock.json $(HEYAPI_DIR)/node_modules/.package-lock.json
# Redocly CLI without its usage telemetry and update check.
REDOCLY = cd $(REDOCLY_DIR) && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true ./node_modules/.bin/redocly
OPENAPI_TS = ./node_modules/.bin/openapi-typescript ../../openapi/partner.json

.PHONY: node-deps lint-spec lint-migrations sdk sdk-check sdk-example sdk-go-example clients e2e-docs e2e contract-proxy

node-deps: $(NODE_DEPS) ## npm ci in tools/redocly, tools/spectral, tools/squawk, tools/prism, sdk/typescript and e2e (when their lockfiles change)

# npm ci rewrites node_modules/.package-lock.json, so this reruns only when the
# lockfile or package.json is newer than the installed tree.
%/node_modules/.package-lock.json: %/package-lock.json %/package.json
	cd $* && $(NPM_CI)
	@test -f $@

lint-spec: $(REDOCLY_DIR)/node_modules/.package-lock.json $(SPECTRAL_DIR)/node_modules/.package-lock.json ## lint openapi/prima.yaml and the partner and operator documents made from it with Redocly CLI (recommended rules) and Spectral (spectral:oas): any finding fails, nothing ignored
	$(REDOCLY) lint
	cd $(SPECTRAL_DIR) && ./node_modules/.bin/spectral lint --ruleset .spectral.yaml --fail-severity=hint \
		../../openapi/prima.yaml ../../openapi/partner.json ../../openapi/operator.json

# squawk cannot read goose's annotations, so each file is linted as it will run: files
# marked `-- +goose NO TRANSACTION` outside a transaction, the others inside one.
# Excluded files (tools/squawk/.squawk.toml) are not reported, hence
# --no-error-on-unmatched-pattern.
PG_MIGRATIONS := store/migrations/postgres
SQUAWK_BIN := $(SQUAWK_DIR)/node_modules/@squawk-cli/linux-x64/bin/squawk
SQUAWK = $(SQUAWK_BIN) --config $(SQUAWK_DIR)/.squawk.toml --no-error-on-unmatched-pattern

lint-migrations: $(SQUAWK_DIR)/node_modules/.package-lock.json ## lint the PostgreSQL migrations with squawk (online changes only; exceptions in tools/squawk/.squawk.toml)
	@if [ ! -x $(SQUAWK_BIN) ]; then \
		echo "lint-migrations: squawk is pinned for Linux x64 only (tools/squawk); elsewhere run" >&2; \
		echo "lint-migrations: npx squawk-cli@2.66.0 with the same flags, or run it in CI." >&2; \
		exit 1; \
	fi
	@$(SQUAWK) --version
	@notx="$$(grep -l -e '^-- +goose NO TRANSACTION' $(PG_MIGRATIONS)/*.sql || true)"; \
	tx="$$(grep -L -e '^-- +goose NO TRANSACTION' $(PG_MIGRATIONS)/*.sql || true)"; \
	rc=0; \
	if [ -n "$$tx" ]; then $(SQUAWK) --assume-in-transaction $$tx || rc=1; fi; \
	if [ -n "$$notx" ]; then $(SQUAWK) --no-assume-in-transaction $$notx || rc=1; fi; \
	if [ "$$rc" -ne 0 ]; then \
		echo "lint-migrations: a migration would block reads or writes; see docs/operating.md (Online migrations)." >&2; \
	fi; \
	exit $$rc

sdk: $(SDK_DIR)/node_modules/.package-lock.json ## regenerate sdk/typescript/src/schema.d.ts from the spec (openapi-typescript)
	cd $(SDK_DIR) && $(OPENAPI_TS) --output src/schema.d.ts

sdk-check: $(SDK_DIR)/node_modules/.package-lock.json ## type-check the TypeScript SDK and fail if schema.d.ts is out of date
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	(cd $(SDK_DIR) && $(OPENAPI_TS) --output "$$tmp/schema.d.ts" >/dev/null) || exit 1; \
	if ! diff -u $(SDK_DIR)/src/schema.d.ts "$$tmp/schema.d.ts"; then \
		echo "sdk-check: sdk/typescript/src/schema.d.ts is out of date with openapi/partner.json (make generate makes it from openapi/prima.yaml);" >&2; \
		echo "sdk-check: run 'make sdk' and commit it." >&2; \
		exit 1; \
	fi
	cd $(SDK_DIR) && ./node_modules/.bin/tsc -p tsconfig.schema.json && ./node_modules/.bin/tsc --noEmit
	@echo "sdk-check: schema.d.ts is up to date and the SDK type-checks"

sdk-example: $(SDK_DIR)/node_modules/.package-lock.json ## run the SDK's five-calls example against PRIMA_URL with PRIMA_TOKEN
	cd $(SDK_DIR) && rm -rf dist && ./node_modules/.bin/tsc && node dist/examples/five-calls.js

sdk-go-example: ## run the Go SDK's five calls (sdk/go, its own module) against PRIMA_URL with PRIMA_TOKEN
	cd sdk/go && PRIMA_REQUIRE_INTEGRATION=1 $(GO) test -count=1 -run 'TestFiveCalls' -v ./...

# test/clients is a Go module of its own (ogen and its runtime stay out of the product's
# go.mod); the clients are generated here, never committed. ogen runs first: its five
# calls leave the confirmed booking that the Go SDK's test reads.
clients: $(HEYAPI_DIR)/node_modules/.package-lock.json ## clients from two generators the project does not use (ogen, strict; @hey-api/openapi-ts with Zod) and the Go SDK: the five calls, then answers a later v1 may send (new fields, new enum values), against PRIMA_URL with PRIMA_TOKEN
	cd test/clients && $(GO) generate ./... && $(GO) mod tidy -diff && $(GO) vet ./...
	cd test/clients && PRIMA_REQUIRE_INTEGRATION=1 $(GO) test -count=1 -v ./ogen/ && PRIMA_REQUIRE_INTEGRATION=1 $(GO) test -count=1 -v ./oapicodegen/
	cd $(HEYAPI_DIR) && rm -rf src/client dist && ./node_modules/.bin/openapi-ts && ./node_modules/.bin/tsc && node dist/five-calls.js

contract-proxy: $(PRISM_DIR)/node_modules/.package-lock.json $(SDK_DIR)/node_modules/.package-lock.json ## the SDK example and an error walk through Prism (validating proxy) in front of PRIMA_URL; fails on any response the spec does not allow
	scripts/ci/contract-proxy.sh

e2e-docs: $(E2E_DIR)/node_modules/.package-lock.json ## drive the portal (/docs/: guides, the references, Try it out, code samples) and Swagger UI in headless Chromium against PRIMA_URL with PRIMA_TOKEN; screenshots in test/e2e/out/
	node $(E2E_DIR)/portal.test.mjs
	node $(E2E_DIR)/swagger-ui.test.mjs

e2e: node-deps ## start prima serve on a free port (temp SQLite, demo data), then sdk-example and e2e-docs against it
	scripts/ci/sdk-e2e.sh
