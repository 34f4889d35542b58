# Two commands do everything on a fresh machine: `make run` (the main job) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup browser run serve test lint package lock bench bench-dashboard screenshots clean

setup: $(STAMP) node_modules/.package-lock.json

$(STAMP): requirements.txt requirements-dev.txt infra/requirements.txt infra/requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
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

## run: the main job: Azurite + the app on the local host + the fan-out experiment (both modes)
run: setup
	$(PY) -m experiment demo

## serve: keep the app running on the local host (http://localhost:7071) with Azurite
serve: setup
	$(PY) -m emulator --app . --azurite

## test: lint + the whole test suite
test: setup browser
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: setup
	$(PY) -m ruff check .

## package: build dist/app.zip, the deployment package, from requirements.lock
##          (BACKEND=dts for a stack with durableBackend dts)
BACKEND ?= azureStorage
package: setup
	$(PY) -m infra.package --out dist/app.zip --durable-backend $(BACKEND) --requirements requirements.lock

## lock: re-pin requirements.txt into requirements.lock (every file hashed); commit the result
lock: setup
	$(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
	  --output-file requirements.lock requirements.txt

## bench: every benchmark of the local host, each figure next to its same-run baseline and target
##        (prints figures; not a test): engine and HTTP front, entities, dashboard rendering
bench: setup browser
	$(PY) -m benchmarks
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
