# Two commands on a fresh machine: `make demo` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export GRADER_DATA_DIR ?= $(CURDIR)/build/data
DEMO_OUT ?= build/demo

.PHONY: setup system-deps data demo test test-fast lint bench clean

# bubblewrap isolates each run; chromium runs the browser tests of the HTML reports
# (tests/browser/). Install whichever is missing where apt is available and we are root.
system-deps:
	@missing=""; command -v bwrap >/dev/null 2>&1 || missing=" bubblewrap"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null \
	      || echo "WARNING: could not install$$missing; without bubblewrap runs will not be sandboxed, without chromium the browser tests cannot run"; \
	  else echo "WARNING:$$missing missing and cannot be installed here; without bubblewrap runs will not be sandboxed, without chromium the browser tests cannot run"; fi; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: system-deps $(STAMP)

data: setup
	$(BIN)/grader data make happy-or-sad

demo: data
	$(BIN)/grader batch submissions/happy_or_sad --exercise happy-or-sad --out $(DEMO_OUT) --time-limit 120 --jobs 2

test: data
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check grader tests benchmarks

bench: data
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/batch.py

clean:
	rm -rf build grader-out .pytest_cache
