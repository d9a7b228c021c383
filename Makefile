# The two commands: `make run` serves the portal, `make test` runs the tests. Both set up .venv first.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test worker bench-search bench-admin clean-db

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	@echo "Khoj Portal on http://127.0.0.1:5000 (embedded PostgreSQL unless DATABASE_URL is set)."
	@echo "Create the first admin at http://127.0.0.1:5000/setup or with: $(VENV)/bin/flask --app wsgi create-admin you@example.com"
	@# One background worker beside the web server unless RUN_WORKER_IN_DEV=0; it starts a few seconds
	@# later so the two processes do not both start the embedded PostgreSQL at once.
	@worker=""; \
	case "$${RUN_WORKER_IN_DEV:-1}" in 0|false|False|no|off) ;; \
	  *) (sleep 5; exec $(VENV)/bin/flask --app wsgi worker) & worker=$$!; \
	     echo "Starting one background worker (RUN_WORKER_IN_DEV=0 turns it off).";; esac; \
	trap '[ -n "$$worker" ] && kill $$worker 2>/dev/null; true' EXIT INT TERM; \
	$(VENV)/bin/flask --app wsgi run --host 127.0.0.1 --port 5000

test: $(STAMP)
	$(PY) -m pytest

worker: $(STAMP)
	$(VENV)/bin/flask --app wsgi worker
