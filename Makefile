# The two commands a newcomer needs: `make demo` and `make test`.
# Both prepare the machine first (scripts/bootstrap: system libraries when
# root on Debian, then .venv with agentdesk installed).

VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: bootstrap demo test lint bench screenshots lock

bootstrap:
	@scripts/bootstrap

demo: bootstrap
	$(BIN)/agentdesk demo

test: bootstrap
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest

lint: bootstrap
	$(BIN)/ruff check agentdesk tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: bootstrap
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Regenerate requirements.lock (hash-pinned, Linux / CPython 3.11) from pyproject.toml with
# its test extra plus requirements.in. The machine's own pip config (local mirrors, wheel
# folders) is left out so the hashes are the public registry's.
lock:
	$(BIN)/pip install -q pip-tools
	env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL PIP_CONFIG_FILE=/dev/null \
	  $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --extra test \
	  --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml requirements.in

# The README's screen-pop pictures, taken from the real demo on a virtual 1366x768 screen.
screenshots: bootstrap
	scripts/screenshots
