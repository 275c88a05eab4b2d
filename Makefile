# Two commands set up a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install lint bench bench-anomaly bench-embeddings bench-quality clean

$(BIN)/aefeatures: pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/aefeatures

demo: install
	$(BIN)/aefeatures demo

test: install
	bash scripts/system-deps.sh
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check aefeatures tests benchmarks examples
	$(BIN)/ruff format --check aefeatures tests benchmarks examples
	$(BIN)/mypy aefeatures

# Speed and memory benchmarks (README "Performance"); PyOD is installed only for them.
# BENCH_ARGS passes options to both, e.g. make bench BENCH_ARGS="--threads 1".
bench: install
	$(BIN)/pip install --quiet pyod tqdm
	$(BIN)/python benchmarks/training.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/transform.py $(BENCH_ARGS)

# Quality benchmarks (README "How good are the features"): ODDS outliers and embeddings, one thread.
bench-anomaly: install
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/anomaly.py

bench-embeddings: install
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/embeddings.py

# Imputation and synthetic rows against scikit-learn, MissForest and SDV, one thread; their packages
# are installed only for them (torch stays pinned; SDV needs pandas<3, so pandas may be downgraded).
# QUALITY_ARGS passes options to both, e.g. make bench-quality QUALITY_ARGS="--quick".
bench-quality: install
	$(BIN)/pip install --quiet torch==2.13.0 scikit-learn palmerpenguins vega_datasets statsmodels sdv sdmetrics
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/imputation.py $(QUALITY_ARGS)
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/synthetic.py $(QUALITY_ARGS)

clean:
	rm -rf $(VENV) aefeatures-demo models .pytest_cache
