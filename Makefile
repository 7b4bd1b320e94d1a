# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test index serve lint clean-index score bench

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,fast]'
	touch $(STAMP)

index: $(STAMP)
	$(BIN)/unionsearch index

serve: $(STAMP)
	$(BIN)/unionsearch serve

run: index serve

test: lint
	$(BIN)/pytest -q

# ruff (pinned in pyproject.toml) and mypy (settings in pyproject.toml: indexer/ and webapp/)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

score: $(STAMP)
	$(PYTHON) ../shared/tools/score_cleaner.py ../shared/pages --cmd '$(BIN)/unionsearch clean {page} --json'

clean-index:
	rm -rf var/index
