# Two commands matter: `make run` (the demo on http://127.0.0.1:8000) and `make test`.
# Everything else here is what those two need, and a few helpers for developers.

PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Parallel test workers (pytest-xdist); each has its own database and, for browser tests, browser.
WORKERS ?= auto
# The Thai catalogues (ours, and the one for django-unfold's strings): the compiled .mo files are
# committed (a machine without GNU gettext still gets Thai)
# and rebuilt here whenever the .po is newer.
MO     := locale/th/LC_MESSAGES/django.mo locale_vendor/th/LC_MESSAGES/django.mo \
          locale_vendor/th/LC_MESSAGES/djangojs.mo

.PHONY: run test venv venv-dev setup demo-data lint format messages check-deploy system-deps bench clean

%.mo: %.po
	@if command -v msgfmt >/dev/null 2>&1; then msgfmt --check -o $@ $<; \
	else echo "msgfmt (GNU gettext) not found: using the committed $@"; touch $@; fi

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed
venv-dev: $(VENV)/.installed-dev

## Migrate, create the scheduled jobs and the demo data (all idempotent).
setup: venv $(MO)
	DEBUG=true $(PY) manage.py migrate --no-input
	DEBUG=true $(PY) manage.py setup_schedules

demo-data: setup
	DEBUG=true $(PY) manage.py seed_demo

## The demo: web server, django-q2 cluster (and the fake LINE platform) on http://$(HOST):$(PORT)
run: demo-data
	DEBUG=true $(PY) manage.py rundemo --host $(HOST) --port $(PORT)

## Chromium and Thai fonts for the browser tests, gettext for the catalogue (Debian packages; needs root or sudo).
system-deps:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "tlwg\|loma\|garuda" && command -v msgfmt >/dev/null; then \
		echo "chromium, Thai fonts and gettext: present"; \
	else \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-thai-tlwg gettext \
		|| echo "WARNING: could not install chromium; browser tests will be skipped"; \
	fi

## The whole test suite on SQLite, or on PostgreSQL with DATABASE_URL=postgres://...
test: venv-dev system-deps $(MO)
	$(PY) -m pytest -n $(WORKERS) $(PYTEST_ARGS)

lint: venv-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	DEBUG=true $(PY) manage.py check
	PY=$(PY) .ci/check-messages

format: venv-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Refresh the Thai catalogue (then translate what is new; `make lint` lists it) from the code, then compile it (needs GNU gettext).
messages: venv
	DEBUG=true $(PY) manage.py makemessages -l th --no-obsolete --no-location --ignore=.venv --ignore=var --ignore=bench
	DEBUG=true $(PY) manage.py compilemessages --ignore=.venv

check-deploy: venv
	DEBUG=false SECRET_KEY=check-deploy-$$(date +%s)-a-long-random-string-for-the-check \
	FIELD_ENCRYPTION_KEY=$$($(PY) -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())") \
	ALLOWED_HOSTS=loyalty.example.com SITE_URL=https://loyalty.example.com \
	$(PY) manage.py check --deploy --fail-level WARNING

bench: venv-dev
	$(PY) bench/run_all.py

clean:
	rm -rf var/test*.sqlite3* .pytest_cache
