# The two commands a newcomer needs: `make demo` and `make test`.
# Both prepare the machine first (scripts/bootstrap: system libraries when
# root on Debian, then .venv with agentdesk installed).

VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: bootstrap demo test lint bench screenshots

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
