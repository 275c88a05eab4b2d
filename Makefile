# Two commands set up a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install lint bench bench-anomaly bench-embeddings bench-quality clean

# torch first, pinned: the CPU build. On PyPI, torch for Linux is the multi-GB CUDA build; PyTorch's
# CPU index serves 2.13.0+cpu, which pip prefers (a local wheel of it in pip's find-links works too).
# TORCH_INDEX= (empty) installs torch from pip's configured sources only. One retry: where the index
# cannot be reached (an offline mirror), pip moves on to its configured sources within seconds.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH := torch==2.13.0 $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX) --retries 1 --timeout 15)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The core only (no extras): what `make demo` and a user of the command line need.
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --no-deps $(TORCH)
	$(BIN)/pip install --quiet torch==2.13.0 -e .  # torch's dependencies and the package's, from PyPI
	touch $@

# What the tests test: the extras, the example's Dagster, pytest and the linters (requirements-dev.txt).
$(VENV)/.dev: $(VENV)/.core requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.core

demo: install
	$(BIN)/aefeatures demo
	@echo "Run aefeatures: . $(VENV)/bin/activate (then aefeatures --help), or $(BIN)/aefeatures --help"

# One pytest worker per core (two on the machines CI and the set-up notes describe); TEST_WORKERS=0
# runs the suite in this process.
TEST_WORKERS ?= 2
test: $(VENV)/.dev
	bash scripts/system-deps.sh
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

lint: $(VENV)/.dev
	$(BIN)/ruff check aefeatures tests benchmarks examples
	$(BIN)/ruff format --check aefeatures tests benchmarks examples
	$(BIN)/mypy aefeatures

# Speed and memory benchmarks (README "Performance"); PyOD is installed only for them.
# BENCH_ARGS passes options to both, e.g. make bench BENCH_ARGS="--threads 1".
bench: $(VENV)/.dev
	$(BIN)/pip install --quiet pyod tqdm
	$(BIN)/python benchmarks/training.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/transform.py $(BENCH_ARGS)

# Quality benchmarks (README "How good are the features"): ODDS outliers and embeddings, one thread.
bench-anomaly: $(VENV)/.dev
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/anomaly.py

# The embeddings' tables come with these packages (torch stays pinned); a missing one is skipped.
bench-embeddings: $(VENV)/.dev
	$(BIN)/pip install --quiet torch==2.13.0 palmerpenguins vega_datasets statsmodels
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/embeddings.py

# Imputation and synthetic rows against scikit-learn, MissForest and SDV, one thread; their packages
# are installed only for them (torch stays pinned; SDV needs pandas<3, so pandas may be downgraded).
# QUALITY_ARGS passes options to both, e.g. make bench-quality QUALITY_ARGS="--quick".
bench-quality: $(VENV)/.dev
	$(BIN)/pip install --quiet torch==2.13.0 scikit-learn palmerpenguins vega_datasets statsmodels sdv sdmetrics
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/imputation.py $(QUALITY_ARGS)
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/synthetic.py $(QUALITY_ARGS)

clean:
	rm -rf $(VENV) aefeatures-demo models .pytest_cache
