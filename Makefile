# Portail de l'enseignement qualifiant — `make run` serves it, `make test` checks it. Both set everything up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORTAL_PORT ?= 8000
export PORTAL_PORT

.PHONY: run test setup system-deps python-deps node-deps migrate demo accounts test-unit test-sqlite \
        test-postgres test-e2e bench bench-seed clean messages

run: setup migrate demo ## migrate the SQLite database, load the demo once, serve on 127.0.0.1:$(PORTAL_PORT)
	$(BIN)/portal serve --port $(PORTAL_PORT)

test: setup system-deps node-deps test-unit test-sqlite test-postgres test-e2e ## the whole suite

setup: python-deps

python-deps: $(BIN)/.installed

$(BIN)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# Debian packages: Chromium for the browser tests, Pango for WeasyPrint (and HarfBuzz's subsetter: without it
# WeasyPrint falls back to a font subsetting whose bytes vary between runs), fonts for both.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	ldconfig -p | grep -q libpango-1.0 || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	ldconfig -p | grep -q libharfbuzz-subset || missing="$$missing libharfbuzz-subset0"; \
	fc-list 2>/dev/null | grep -qi dejavu || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
	  echo "Installation des paquets Debian :$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

node-deps: node_modules/axe-core/axe.min.js

node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

migrate: setup
	$(BIN)/portal migrate

demo: setup
	$(BIN)/portal demo

accounts: setup
	@$(BIN)/portal accounts

test-unit: setup
	$(BIN)/pytest -q -p no:cacheprovider tests/unit

test-sqlite: setup
	@echo "=== Intégration sur SQLite ==="
	PORTAL_TEST_ENGINE=sqlite $(BIN)/pytest -q -p no:cacheprovider tests/integration

test-postgres: setup
	@echo "=== Intégration sur PostgreSQL ==="
	PORTAL_TEST_ENGINE=postgres $(BIN)/pytest -q -p no:cacheprovider tests/integration

test-e2e: setup system-deps node-deps
	@echo "=== Parcours dans Chromium (Playwright + axe-core) ==="
	$(BIN)/pytest -q -p no:cacheprovider e2e

bench-seed: setup  # its own folder: the seed refuses a database that already holds the demo
	PORTAL_DATA_DIR=data/bench $(BIN)/python -m portal.cli migrate
	PORTAL_DATA_DIR=data/bench $(BIN)/python -m portal.cli seed --size large

bench: setup ## both engines, large dataset, 16 connections; figures in bench/README.md
	@command -v wrk >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) node_modules data .pytest_cache

messages: setup ## extract the strings and update the French and English catalogues
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 --no-location --sort-output \
	  --project=portal -o portal/locale/messages.pot .
	for lang in fr en; do \
	  if [ -f portal/locale/$$lang/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel update --no-fuzzy-matching -i portal/locale/messages.pot -d portal/locale -l $$lang; \
	  else $(BIN)/pybabel init -i portal/locale/messages.pot -d portal/locale -l $$lang; fi; \
	done
