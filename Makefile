# One entry point: `make run` serves the product, `make test` runs the suite. Only python3 is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DEV := DEBUG=1
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run migrate test lint format bench messages clean

$(INSTALLED): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(INSTALLED)

install: $(INSTALLED)

migrate: install
	$(DEV) $(BIN)/python manage.py migrate --noinput
	$(DEV) $(BIN)/python manage.py createcachetable

run: migrate
	$(DEV) $(BIN)/python manage.py seed_demo
	@echo "\nApplicant pages: http://$(HOST):$(PORT)/   Staff console: http://$(HOST):$(PORT)/admin/\n"
	$(DEV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(DEV) $(BIN)/python manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: install
	cd tickets && $(DEV) ../$(BIN)/python ../manage.py makemessages -l id -l en --no-obsolete
	cd refunds && $(DEV) ../$(BIN)/python ../manage.py makemessages -l id -l en --no-obsolete
	cd notifications && $(DEV) ../$(BIN)/python ../manage.py makemessages -l id -l en --no-obsolete
	$(DEV) $(BIN)/python manage.py compilemessages

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles
