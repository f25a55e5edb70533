# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO_DB ?= sqlite:///contacts.db
DAGSTER_PORT ?= 3000
LOCAL_DAGSTER_HOME := $(CURDIR)/.dagster

.PHONY: install demo dagster serve test test-fast lint format bench bench-dagster bench-lookup bench-sync bench-hubspot bench-zoho clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "installing contact-sync and its dependencies into $(VENV) (log: $(VENV)/install.log)"
	@( $(BIN)/python -m pip install --upgrade pip && $(BIN)/python -m pip install -e '.[dev]' ) \
		> $(VENV)/install.log 2>&1 || (tail -30 $(VENV)/install.log; exit 1)
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

demo: install
	CONTACTS_DATABASE_URL=$(DEMO_DB) $(BIN)/contact-sync db upgrade
	CONTACTS_DATABASE_URL=$(DEMO_DB) $(BIN)/contact-sync import examples/contacts.csv --rejects contacts-rejects.csv
	@echo
	@echo '$$ contact-sync lookup --phone "+49 1506 1964631"'
	@CONTACTS_DATABASE_URL=$(DEMO_DB) $(BIN)/contact-sync lookup --phone "+49 1506 1964631"
	@echo
	@echo '$$ contact-sync lookup --email JAMES.SMITH1@icloud.com --json'
	@CONTACTS_DATABASE_URL=$(DEMO_DB) $(BIN)/contact-sync lookup --email JAMES.SMITH1@icloud.com --json

# The Dagster UI, daemon and code location on the embedded default: the SQLite store ./contacts.db, a local
# instance in ./.dagster and the drop folder ./imports/incoming (each overridable by its environment variable).
dagster: install
	@mkdir -p $(LOCAL_DAGSTER_HOME) imports/incoming
	@cp deploy/dagster.local.yaml $(LOCAL_DAGSTER_HOME)/dagster.yaml
	@# Create the instance's storage first: the webserver and the daemon would otherwise race to create it.
	@DAGSTER_HOME=$(LOCAL_DAGSTER_HOME) $(BIN)/dagster instance migrate > /dev/null
	DAGSTER_HOME=$(LOCAL_DAGSTER_HOME) \
	CONTACTS_DATABASE_URL=$${CONTACTS_DATABASE_URL:-sqlite:///$(CURDIR)/contacts.db} \
	CONTACTS_DROP_DIR=$${CONTACTS_DROP_DIR:-$(CURDIR)/imports/incoming} \
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(DAGSTER_PORT)

# The contacts API on the demo store; `contact-sync token create` prints a token for it.
serve: install
	CONTACTS_DATABASE_URL=$(DEMO_DB) $(BIN)/contact-sync serve --port $${PORT:-8000}

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/import_csv.py

bench-dagster: install
	$(BIN)/python bench/dagster_asset.py

bench-lookup: install
	$(BIN)/python bench/lookup.py

bench-sync: install
	$(BIN)/python bench/sync_salesforce.py

bench-hubspot: install
	$(BIN)/python bench/sync_hubspot.py

bench-zoho: install
	$(BIN)/python bench/sync_zoho.py

clean:
	rm -rf $(VENV) contacts.db contacts.db-wal contacts.db-shm contacts-rejects.csv .pytest_cache .mypy_cache .dagster
