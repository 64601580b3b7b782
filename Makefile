# Everything runs from the project's own virtualenv, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint types unit bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@for p in policies/*.yaml; do \
		name=$$(basename $$p .yaml); \
		echo "== $$name"; \
		$(BIN)/policydesk policy test policies/cases/$$name.yaml --policy $$p || exit 1; \
	done
	$(BIN)/policydesk sla explain --policy policies/ecellar.yaml \
		--received 2026-11-24T15:01:00-08:00 --subject "Customers cannot place orders"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

types: $(STAMP)
	$(BIN)/mypy src

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint types unit

bench: $(STAMP)
	$(BIN)/python bench/calendar_bench.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
