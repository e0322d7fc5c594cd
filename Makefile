# The two entry points of the README. Both set up a virtual environment in
# .venv (pip takes torch and torchvision from the local wheel cache where
# one exists) and then run.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test

$(VENV)/.installed: setup.cfg requirements/runtime.txt \
		requirements/tests.txt requirements/optional.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[tests]'
	touch $@

# Toy faces end to end: make data, train, evaluate, write samples.
demo: $(VENV)/.installed
	$(BIN)/python tools/demo.py

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q
