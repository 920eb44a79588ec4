# Quanyi: `make run` runs the shop, `make test` runs every test. See README.md.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
# Build output lives outside the checkout so fresh clones (and CI) start warm.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/quanyi/target
SITE := $(CARGO_TARGET_DIR)/site
BIN := $(CARGO_TARGET_DIR)/debug/quanyi
# cargo-leptos passes these to the compiler; plain cargo gets the same, so the
# two share one build instead of rebuilding each other's crates.
export LEPTOS_OUTPUT_NAME := quanyi
export LEPTOS_SITE_ROOT := $(SITE)
export LEPTOS_SITE_PKG_DIR := pkg
export LEPTOS_SITE_ADDR := 127.0.0.1:3000
export LEPTOS_RELOAD_PORT := 3001
export LEPTOS_JS_MINIFY := false
export LEPTOS_HASH_FILES := false
# cargo-leptos's dev builds compile with this cfg (faster builds); so do ours.
export RUSTFLAGS := --cfg erase_components

.PHONY: run build setup test test-rust test-e2e test-bench-smoke bench fmt

## Run the shop on SQLite at http://127.0.0.1:3000 (installs tools, migrates, seeds).
## The demo turns the simulated payment page on (it pays orders without money).
run: setup build
	@QUANYI_ALLOW_TEST_PAYMENTS=true $(BIN) serve

setup:
	@bash .ci/setup.sh

# --split: the admin's lazy routes become WASM chunks of their own (every build needs it:
# without it the bundle imports a placeholder module and nothing hydrates).
build:
	cargo leptos build --split

## Every test: unit and integration on SQLite and PostgreSQL, then Playwright (JS on and off) on both.
test:
	@bash .ci/setup.sh test
	$(MAKE) build
	$(MAKE) test-rust
	$(MAKE) test-e2e
	$(MAKE) test-bench-smoke

test-rust:
	cargo test --workspace --no-fail-fast $(TEST_ARGS)

test-e2e:
	@for db in sqlite postgres; do \
	  echo "== Playwright on $$db (projects: js, nojs)"; \
	  (cd end2end && E2E_DB=$$db E2E_BIN=$(BIN) npx playwright test) || exit 1; \
	  mkdir -p end2end/test-results/$$db && cp -r end2end/test-results/screenshots end2end/test-results/$$db/ 2>/dev/null || true; \
	done

## Every benchmark scenario at tiny size on both backends, so the harness cannot rot (no speed asserted).
test-bench-smoke:
	cargo build -p loadgen
	@for db in sqlite postgres; do echo "== bench smoke on $$db"; bash end2end/bench.sh $$db --smoke || exit 1; done

## Release build, then the full benchmark on one backend: make bench DB=sqlite|postgres (results under target/bench/).
DB ?= sqlite
bench:
	@bash .ci/setup.sh bench
	bash end2end/bench.sh $(DB)

fmt:
	cargo fmt --all
