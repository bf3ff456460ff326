# Strict shell: a failing step fails the target.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PROTO_FILES := $(shell find protos -name '*.proto')
DESCRIPTOR := gen/descriptor.pb

.PHONY: help setup protos run test lint typecheck unit bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## install everything (venv, packages, models, generated code)
	@scripts/setup.sh
	@$(PY) -m embedding_service.onnx_export --if-missing > /dev/null
	@scripts/setup_nats.sh
	@$(MAKE) --no-print-directory protos
	@scripts/build_web.sh

protos: gen/.stamp ## generate Python stubs, .pyi and the Envoy descriptor set

# Copies the googleapis protos from the installed package (buf's registry is unreachable),
# generates Python code into gen/ and the descriptor set (with imports) for Envoy's transcoder.
gen/.stamp: $(PROTO_FILES) third_party/envoy_ext_authz/envoy_ext_authz.proto buf.yaml scripts/gen_protos.sh scripts/gen_openapi.sh
	@scripts/gen_protos.sh
	@touch $@

run: setup ## start the services locally (options: make run ARGS="--engine vllm --chat-replicas 2")
	@if [[ " $(ARGS) " == *" --engine vllm "* || " $(ARGS) " == *" --engine=vllm "* ]]; then \
	  scripts/setup_vllm.sh; fi
	@$(PY) -m local_stack $(ARGS)

lint: setup ## ruff, mypy and buf lint
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy .
	@$(BIN)/buf lint

test: setup lint ## install everything, lint, run the whole test suite
	@scripts/setup_vllm.sh
	@scripts/tools.sh
	@scripts/setup_browser.sh
	@scripts/run_tests.sh

bench: setup ## run the benchmarks (figures printed and written to bench/results/)
	@scripts/run_benchmarks.sh

clean: ## remove generated code (keeps the venv)
	rm -rf gen third_party/googleapis
