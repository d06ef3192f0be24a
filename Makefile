# `make run` serves the console; `make test` runs lint and the whole test suite.
# Both create .venv and install the pinned dependencies first (again only when
# a requirements file changed).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint fuzz bench-blogs bench-monitor bench-scheduler bench-cluster-sockets bench-cluster-blogs bench-scale install install-dev browser sqlite services messages clean cluster-up cluster-down

# One process on gunicorn's threaded worker: pages, API, sockets (one thread each),
# the scheduler and the memory sampler, on SQLite in instance/.
THREADS ?= 100
run: install
	$(BIN)/flask --app webapp db upgrade
	$(BIN)/gunicorn --worker-class gthread --threads $(THREADS) --workers 1 --no-control-socket \
	  --bind $(HOST):$(PORT) --graceful-timeout 60 "webapp.serve:app()"

test: install-dev browser sqlite services
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadfile --db=sqlite,postgresql --durations=15

lint: install-dev
	$(BIN)/ruff check .

# Not part of `make test`: a full schemathesis run against a live server takes minutes.
fuzz: install-dev
	$(BIN)/python bench/fuzz.py

bench-blogs: install-dev
	$(BIN)/python bench/blog_list.py

bench-monitor: install-dev
	$(BIN)/python bench/monitor_sockets.py

bench-scheduler: install-dev
	$(BIN)/python bench/scheduler.py

# A million blogs and 10,000 jobs on SQLite and PostgreSQL: build time, server time per
# page (p50/p95) against 10,000 blogs, a full CSV download. Minutes, and a few GB of disk.
bench-scale: install-dev services
	$(BIN)/python bench/scale.py

# The translations (webapp/translations/<language>/LC_MESSAGES/messages.po) are compiled
# by the install, into git-ignored .mo files next to them, again when a .po changes.
CATALOGUES := $(wildcard webapp/translations/*/LC_MESSAGES/messages.po)
COMPILED   := $(CATALOGUES:.po=.mo)

install: $(VENV)/.installed $(COMPILED)
install-dev: $(VENV)/.installed-dev $(COMPILED)

%.mo: %.po | $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version)); run: make PYTHON=python3.12 ..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

browser:
	@scripts/ensure-chromium

sqlite:
	@scripts/ensure-sqlite3

services:
	@scripts/ensure-services

# Extract translatable strings into the catalogue template and bring every catalogue up
# to date with it (new ids arrive untranslated: tests/test_i18n.py lists them).
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l --add-location=file -o webapp/translations/messages.pot .
	$(BIN)/pybabel update -i webapp/translations/messages.pot -d webapp/translations \
	  --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The whole topology on loopback, detached: two web processes (http://127.0.0.1:5101/ and
# :5102) and two workers, on the PostgreSQL database webapp_cluster and Redis. It returns
# once every process answers /healthz; pid files go to instance/run, logs to instance/logs.
# `make cluster-down` stops them all and keeps the database and logs. scripts/cluster -h
# tells more (`scripts/cluster status`, other ports and names).
cluster-up: install services
	scripts/cluster up

cluster-down:
	scripts/cluster down

# The topology under load (PostgreSQL webapp_bench_*, Redis db 12, ports 5981/5982 and
# 5991/5992; the databases are dropped afterwards): 1,000 monitor sockets over two web
# processes, and the blog list on one web process against two.
bench-cluster-sockets: install-dev services
	$(BIN)/python bench/cluster_sockets.py

bench-cluster-blogs: install-dev services
	$(BIN)/python bench/cluster_blogs.py
