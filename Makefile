# Two commands on a fresh machine: `make demo` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export GRADER_DATA_DIR ?= $(CURDIR)/build/data
DEMO_OUT ?= build/demo
DEMO_COURSE ?= demo-course

.PHONY: setup system-deps data demo serve-demo test test-fast acceptance lint bench clean

# bubblewrap isolates each run; chromium runs the browser tests of the HTML reports
# (tests/browser/); postgresql is the server the service tests start (tests/service/);
# nginx is the proxy the transport tests start in front of the service (deploy/nginx/),
# with a certificate openssl makes for the test.
# Install whichever is missing where apt is available and we are root.
system-deps:
	@missing=""; command -v bwrap >/dev/null 2>&1 || missing=" bubblewrap"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v openssl >/dev/null 2>&1 || missing="$$missing openssl"; \
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

# the grading service: a demo course (an instructor, an assignment, two students and their
# links, printed); then `$(BIN)/grader serve --dir $(DEMO_COURSE)` serves it (docs/service.md).
# With LTI=1 it also starts a test LMS on port $(LTI_PORT) registered with the course, and
# the service itself: open http://127.0.0.1:$(LTI_PORT) to launch from it (docs/lti.md).
LTI ?=
LTI_PORT ?= 8001
LTI_LMS := http://127.0.0.1:$(LTI_PORT)
serve-demo: data
	$(BIN)/grader serve demo --dir $(DEMO_COURSE)
ifeq ($(LTI),1)
	$(BIN)/grader serve lti add-platform --dir $(DEMO_COURSE) --issuer $(LTI_LMS) \
	  --client-id grader-tool --deployment-id deployment-1 --name "Test LMS" \
	  --auth-login-url $(LTI_LMS)/authorize --auth-token-url $(LTI_LMS)/token \
	  --key-set-url $(LTI_LMS)/jwks
	@$(BIN)/python devtools/lti_platform.py --port $(LTI_PORT) --tool http://127.0.0.1:8000 & \
	  lms=$$!; trap 'kill $$lms' EXIT INT TERM; \
	  echo "test LMS: open $(LTI_LMS)/ (add the grader by deep linking, then launch as a student)"; \
	  $(BIN)/grader serve --dir $(DEMO_COURSE)
endif

# Two workers: the service tests (mostly waiting) beside the training ones (tests/conftest.py)
test: data lint
	$(BIN)/python -m pytest -q -m "not acceptance" -n 2 --durations=25

# runs on the course notebooks of ../shared/corpus (third-party: never copied into the repo)
acceptance: data
	$(BIN)/python -m pytest -q -m acceptance

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not acceptance"

lint: setup
	$(BIN)/ruff check grader tests benchmarks devtools
	$(BIN)/lint-imports

bench: data
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/batch.py

clean:
	rm -rf build grader-out .pytest_cache
