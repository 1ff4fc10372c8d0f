# CreditDesk's two commands:
#   make run   a working server on http://127.0.0.1:8000 with demo data (SQLite unless DATABASE_URL says otherwise)
#              and the task worker beside it
#   make test  lint, the import layers, migration check and the whole test suite against DATABASE_URL
#              (SQLite when unset)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
ADDRESS ?= 127.0.0.1:8000
# Test processes, each with its own test database (pytest-xdist); 1 runs the suite in this process.
PYTEST_WORKERS ?= 2

.PHONY: run test schema

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when a requirements file changed.
$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $@

# The development server runs with DEBUG on unless the environment says otherwise, and with the
# task worker beside it (events.management.commands.run_with_worker): events, e-mails and
# webhook deliveries go through the database queue, as in production. Ctrl-C stops both.
run: export DEBUG ?= true
# The address served is the site's (unless SITE_URL says another): e-mails link to it, and the
# demo partner app's webhook endpoint and callback are on it, whatever ADDRESS is.
run: export SITE_URL ?= http://$(ADDRESS)
run: export TASKS_BACKEND ?= django_tasks_db.DatabaseBackend
run: $(VENV)/.installed-run
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py billing_webhook_endpoint --if-configured --base-url http://$(ADDRESS)
	$(BIN)/python manage.py run_with_worker $(ADDRESS)

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	ENV_FILE=/dev/null DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	$(SCHEMA) --file $(VENV)/openapi.yaml
	@diff -u docs/openapi.yaml $(VENV)/openapi.yaml > /dev/null || { \
		diff -u docs/openapi.yaml $(VENV)/openapi.yaml | head -40; \
		echo "docs/openapi.yaml is stale: run 'make schema' and commit it"; exit 1; }
	$(BIN)/pytest -n $(PYTEST_WORKERS)

# The committed API schema, as PostgreSQL (production) gives it: field ranges follow the database
# backend, and generating it connects to no database, so the URL below is never dialled.
SCHEMA := ENV_FILE=/dev/null DEBUG=true DATABASE_URL=postgres://schema@127.0.0.1:1/schema \
	$(BIN)/python manage.py spectacular --validate --fail-on-warn

schema: $(VENV)/.installed-test
	$(SCHEMA) --file docs/openapi.yaml
