# Two commands: `make run` serves the demo, `make test` runs every test.
# `make bench` load-tests the app at federation scale (long; not part of `make test`).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
DEMO_PASSWORD ?= union-demo-password
STAMP := $(VENV)/.installed
CATALOGUES := $(wildcard union/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

.PHONY: run test install check lint typecheck db demo clean messages bench

run: $(STAMP) $(COMPILED) db demo
	@echo
	@echo "Serving on http://127.0.0.1:5000 -- sign in with any demo account above,"
	@echo "password: $(DEMO_PASSWORD)"
	@echo
	@# The worker (emails, join applications, the schedule) runs beside the web
	@# server on a SQLite queue file, and stops with it.
	$(FLASK) union worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port 5000

test: $(STAMP) $(COMPILED) check
	$(BIN)/pytest

check: lint typecheck

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

install: $(STAMP) $(COMPILED)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel -q compile -i $< -o $@

# After changing user-facing text: gather every string into the catalogues, then
# translate the new entries (tests/test_translations.py fails until they are).
messages: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --sort-output \
		--no-location --omit-header -o $(VENV)/messages.pot .
	$(BIN)/pybabel -q update -i $(VENV)/messages.pot -d union/translations \
		--no-fuzzy-matching --ignore-obsolete

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

db: $(STAMP)
	mkdir -p instance
	$(FLASK) db upgrade

demo: $(STAMP)
	$(FLASK) union demo --password "$(DEMO_PASSWORD)"

bench: $(STAMP)
	PGUSER=postgres PGPASSWORD=postgres bash benchmarks/postgres.sh
	PGUSER=postgres PGPASSWORD=postgres $(BIN)/python benchmarks/run.py
	PGUSER=postgres PGPASSWORD=postgres $(BIN)/python benchmarks/messages.py \
		--members 109000 --json benchmarks/out/messages.json

clean:
	rm -rf $(VENV) .venv-bench benchmarks/out instance .mypy_cache .ruff_cache .pytest_cache .hypothesis
