# Two commands do everything on a fresh machine: `make run` (the main job) and `make test`.
# Python 3.11, 3.12 and 3.13 are supported; one virtual environment per Python, e.g.
#   make test PYTHON=python3.13 VENV=.venv-3.13
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup browser run serve test test-sdk2 lint package lock bench bench-dashboard screenshots clean

setup: $(STAMP) node_modules/.package-lock.json

$(STAMP): requirements.txt requirements-dev.txt infra/requirements.txt infra/requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@want=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	have=$$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	if [ "$$want" != "$$have" ]; then \
		echo "$(VENV) runs Python $$have but PYTHON=$(PYTHON) is $$want:" \
		     "use another VENV (VENV=.venv-$$want) or remove $(VENV)"; exit 1; fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.package-lock.json: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

## browser: Debian's Chromium for the dashboard's browser tests (installed when missing and root)
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the dashboard tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "no chromium: the dashboard's browser tests will skip (and fail in CI); install Debian's 'chromium'"; \
	fi

## run: the main job: Azurite + the app on the local host + the fan-out experiment (both modes);
##      WORKER_PROCESSES=N sets the host's FUNCTIONS_WORKER_PROCESS_COUNT (the CPU F2's waves)
WORKER_PROCESSES ?= 1
run: setup
	$(PY) -m experiment demo --worker-processes $(WORKER_PROCESSES)

## serve: keep the app running on the local host (http://localhost:7071) with Azurite
serve: setup
	$(PY) -m emulator --app . --azurite

## test: lint + the whole test suite
test: setup browser
	$(PY) -m ruff check .
	$(PY) -m pytest

## test-sdk2: the app's end-to-end tests and the host's 2.x tests on azure-functions-durable 2.x
## (Python 3.13: PYTHON313=...), in .venv-sdk2
PYTHON313 ?= python3.13
SDK2_VENV ?= .venv-sdk2
test-sdk2: setup
	test -x $(SDK2_VENV)/bin/python || $(PYTHON313) -m venv $(SDK2_VENV)
	$(SDK2_VENV)/bin/python -m pip install --quiet -r requirements-sdk2.txt
	$(SDK2_VENV)/bin/python -m pytest -p no:cacheprovider tests/app/test_e2e_booking.py \
		tests/app/test_e2e_backup.py tests/app/test_e2e_http.py tests/app/test_e2e_sites.py \
		tests/app/test_instance_urls.py \
		tests/emulator/sdk2/test_real_sdk.py tests/emulator/sdk2/test_host_2x.py \
		tests/emulator/sdk2/test_host_2x_locks.py tests/emulator/sdk2/test_codec_mode.py \
		tests/emulator/sdk2/test_app_loop_watchdog.py tests/emulator/sdk2/test_large_payloads.py
	EMULATOR_SDK2_PYTHON=$(abspath $(SDK2_VENV))/bin/python $(PY) -m pytest -p no:cacheprovider \
		tests/emulator/worker/process/test_sdk2_workers.py tests/benchmarks/test_sdk2_group.py

lint: setup
	$(PY) -m ruff check .

## package: build dist/app.zip, the deployment package, from requirements-py$(PYTHON_VERSION).lock
##          for the stack's pythonVersion (PYTHON_VERSION=3.13) and durableBackend (BACKEND=dts)
BACKEND ?= azureStorage
PYTHON_VERSION ?= 3.11
package: setup
	$(PY) -m infra.package --out dist/app.zip --durable-backend $(BACKEND) \
	  --python-version $(PYTHON_VERSION)

## lock: re-pin requirements.txt into requirements-py3.X.lock, one per Python version the stack
##       allows, each resolved by that Python (from pyenv or PATH); commit the results
lock: setup
	$(PY) -m infra.lock

## bench: every benchmark of the local host, each figure next to its same-run baseline and target
##        (prints figures; not a test): engine and HTTP front, worker processes, entities,
##        dashboard rendering
bench: setup browser
	$(PY) -m benchmarks
	$(PY) -m benchmarks.workers
	$(PY) -m benchmarks.entities
	$(PY) -m benchmarks.dashboard

## bench-dashboard: the dashboard's render times in Chromium (10,000 instances, 10,000-wide fan-out)
bench-dashboard: setup browser
	$(PY) -m benchmarks.dashboard

## screenshots: re-draw docs/screenshots/ from the dashboard's browser tests
screenshots: setup browser
	DASHBOARD_SCREENSHOTS=docs/screenshots $(PY) -m pytest tests/emulator/http/dashboard -q

clean:
	rm -rf $(VENV) node_modules .emulator .azurite dist .pytest_cache .ruff_cache
