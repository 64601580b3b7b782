# Everything runs from the project's own virtualenv, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser run cases test lint types unit bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Serves the API on http://127.0.0.1:8000 with an embedded SQLite database and demo data, the
# worker in the same process, mail for the desk taken in on smtp://127.0.0.1:2525, and what
# the desk sends caught on smtp://127.0.0.1:1025 (kept in var/mail).
run: $(STAMP) cases
	$(BIN)/policydesk db upgrade
	$(BIN)/policydesk demo
	$(BIN)/policydesk serve --worker --dev-mail --receive-mail

# Every example policy against its case file, and one explained ticket.
cases: $(STAMP)
	@for p in policies/*.yaml; do \
		name=$$(basename $$p .yaml); \
		$(BIN)/policydesk policy test policies/cases/$$name.yaml --policy $$p --json \
			| $(BIN)/python -c "import json,sys; d=json.load(sys.stdin); print(f'$$name: {d[\"passed\"]} cases passed, {d[\"failed\"]} failed'); sys.exit(d[\"failed\"] > 0)" \
			|| exit 1; \
	done
	$(BIN)/policydesk sla explain --policy policies/ecellar.yaml \
		--received 2026-11-24T15:01:00-08:00 --subject "Customers cannot place orders"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

types: $(STAMP)
	$(BIN)/mypy src

# The console's browser tests drive Debian's Chromium (Playwright's own download is not
# reachable here); installed once, from the distribution's packages.
browser:
	@command -v chromium >/dev/null || { \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get install -y -q chromium >/dev/null \
		|| { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium >/dev/null; }; }
	@chromium --version 2>/dev/null

unit: $(STAMP) browser
	$(BIN)/pytest -q

test: lint types unit

bench: $(STAMP)
	$(BIN)/python bench/calendar_bench.py
	$(BIN)/python bench/api_bench.py --quick
	$(BIN)/python bench/worker_bench.py --quick
	$(BIN)/python bench/mail_bench.py --quick

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis policydesk.db* var
