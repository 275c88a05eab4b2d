# Two commands set up a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install lint bench clean

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
	AEFEATURES_REQUIRE_SPARK=1 $(BIN)/python -m pytest -q  # CI: the Spark tests run, never skip

lint: install
	$(BIN)/ruff check aefeatures tests

clean:
	rm -rf $(VENV) aefeatures-demo models .pytest_cache
