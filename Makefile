# The README's two commands: `make plan` and `make test`. Each builds what it needs on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.aiplane-installed
PIP_FLAGS := --quiet --disable-pip-version-check --progress-bar off
STACK ?= dev
# checkov pins packaging<24 and an old boto3; pulumi needs packaging>=26: checkov gets its own virtualenv.
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
CHECKOV_STAMP := $(CHECKOV_VENV)/.checkov-$(CHECKOV_VERSION)
# The conformance suite runs the gateway's own LiteLLM proxy (the version of the pinned image) on rendered
# configs, with what the image adds to litellm[proxy]: the Prometheus client and OpenTelemetry.
LITELLM_VENV := .venv-litellm
LITELLM_VERSION := 1.100.1
LITELLM_EXTRAS := prometheus_client==0.26.0 opentelemetry-api==1.45.2 opentelemetry-sdk==1.45.2 opentelemetry-exporter-otlp==1.45.2
LITELLM_STAMP := $(LITELLM_VENV)/.litellm-$(LITELLM_VERSION)

.PHONY: setup plan test bench schema docs clean

setup: $(STAMP) $(CHECKOV_STAMP) $(LITELLM_STAMP)

# Re-install when the dependency list changes; the package itself is installed editable.
$(STAMP): pyproject.toml
	@echo "setup: aiplane with Pulumi's SDK and providers and the test tools, into $(VENV) (first run: about 3 minutes)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[test]'
	touch $@

$(CHECKOV_STAMP):
	@echo "setup: checkov $(CHECKOV_VERSION), the policy engine, into $(CHECKOV_VENV) (first run: about 2 minutes)"
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install $(PIP_FLAGS) 'checkov==$(CHECKOV_VERSION)'
	rm -f $(CHECKOV_VENV)/.checkov-*
	touch $@

$(LITELLM_STAMP):
	@echo "setup: LiteLLM $(LITELLM_VERSION)'s proxy, for the gateway's conformance tests, into $(LITELLM_VENV) (first run: about 2 minutes)"
	test -x $(LITELLM_VENV)/bin/python || $(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/python -m pip install $(PIP_FLAGS) 'litellm[proxy]==$(LITELLM_VERSION)' $(LITELLM_EXTRAS)
	rm -f $(LITELLM_VENV)/.litellm-*
	touch $@

plan: setup
	$(BIN)/aiplane plan --stack $(STACK) --check

# One worker per core, at most four: the suite is synthesis and checkov, CPU-bound; a file's tests stay on one
# worker so its module fixtures (a gate run, a served policy pack) are built once.
test: setup
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadfile

# STRICT=1 exits 1 on any target missed; BENCH_ARGS passes options through (--only scale, --rounds 1, --tenants 0,50).
bench: setup
	$(BIN)/python -m aiplane.bench $(if $(STRICT),--strict) $(BENCH_ARGS)

# Regenerate what is generated from code: the registry in aiplane/docs (the tests fail while a file is stale).
docs: setup
	$(BIN)/python -m aiplane.docs --write

clean:
	rm -rf build $(VENV) $(CHECKOV_VENV) $(LITELLM_VENV) .cache .pytest_cache .hypothesis
