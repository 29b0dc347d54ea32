# billing — make help lists the targets.
GO        ?= go
# PostgreSQL used by `make test` when BILLING_TEST_DATABASE_URL is not set
# (a local server with trust auth, as on the team's machines and in CI).
PG_URL    ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
STATICCHECK_VERSION ?= v0.8.2

.DEFAULT_GOAL := help

.PHONY: help run test test-sqlite test-postgres generate lint bench build

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

run: ## Start the service on the embedded SQLite default (data in ./data)
	$(GO) run ./cmd/billing serve

build: ## Build bin/billing
	$(GO) build -o bin/billing ./cmd/billing

test: ## Run every test on SQLite, then on PostgreSQL (skipped, loudly, when none is reachable)
	@PG_URL='$(PG_URL)' GO='$(GO)' bash scripts/test.sh

test-sqlite: ## Run the suite on SQLite only
	$(GO) test -race -count=1 ./...

generate: ## Regenerate ent, GraphQL and migration code (CI fails if this leaves a diff)
	$(GO) generate .

lint: ## go vet and staticcheck
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

bench: ## Run the Go benchmarks (on PostgreSQL when PG_URL is reachable) and the checkout load test against pgbench
	@if $(GO) run ./scripts/pgcheck '$(PG_URL)' 2>/dev/null; then \
		BILLING_TEST_DATABASE_URL='$(PG_URL)' $(GO) test -run '^$$' -bench . -benchmem ./... && \
		$(GO) run ./internal/bench/checkout -database-url '$(PG_URL)'; \
	else \
		echo "!! no PostgreSQL reachable at $(PG_URL): Go benchmarks on SQLite only, checkout load test skipped"; \
		$(GO) test -run '^$$' -bench . -benchmem ./...; \
	fi
