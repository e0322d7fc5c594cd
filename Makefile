# The entry points of the README. Each sets up a virtual environment from
# one measured stack (requirements/constraints/) and then runs:
#   make demo / make test   .venv: torch 2.14, numpy 2, mmcv-lite
#   make test-mmagic        .venv-mmagic: MMagic 1.2 with torch 2.1, numpy 1,
#                           full mmcv 2.1 (compiled ops)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STACK := requirements/constraints/torch2.14.txt

MMAGIC_VENV ?= .venv-mmagic
MMAGIC_BIN := $(MMAGIC_VENV)/bin
MMAGIC_STACK := requirements/constraints/mmagic1.2.txt
# Full mmcv 2.1.0 has no wheel on PyPI: use a prebuilt one where the
# workspace has it, else build it from source against the installed torch
# (about 18 minutes on 2 cores; pip's wheel cache keeps the result).
MMCV_WHEEL := $(wildcard ../shared/wheels/mmcv-2.1.0-cp311-cp311-linux_x86_64.whl)
MMCV := $(if $(MMCV_WHEEL),$(MMCV_WHEEL),mmcv==2.1.0)

REQUIREMENTS := setup.cfg requirements/runtime.txt requirements/mmcv_lite.txt \
	requirements/tests.txt requirements/optional.txt

.PHONY: demo test test-mmagic

$(VENV)/.installed: $(REQUIREMENTS) $(STACK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -c $(STACK) -e '.[lite,tests]'
	touch $@

# Toy faces end to end: make data, train, evaluate, write samples.
demo: $(VENV)/.installed
	$(BIN)/python tools/demo.py

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

# An MMagic user's environment first, then this package into it; the
# interop tests must run here (CYCLEGAN_PLUGIN_REQUIRE_MMAGIC makes a skip
# a failure).
$(MMAGIC_VENV)/.installed: $(REQUIREMENTS) $(MMAGIC_STACK)
	$(PYTHON) -m venv $(MMAGIC_VENV)
	$(MMAGIC_BIN)/python -m pip install -c $(MMAGIC_STACK) torch torchvision \
		numpy mmengine setuptools wheel ninja
	MAX_JOBS=2 $(MMAGIC_BIN)/python -m pip install -c $(MMAGIC_STACK) \
		--no-build-isolation $(MMCV)
	$(MMAGIC_BIN)/python -m pip install -c $(MMAGIC_STACK) mmagic albumentations
	$(MMAGIC_BIN)/python -m pip install -c $(MMAGIC_STACK) \
		--no-build-isolation -e '.[tests,optional]'
	touch $@

test-mmagic: $(MMAGIC_VENV)/.installed
	CYCLEGAN_PLUGIN_REQUIRE_MMAGIC=1 $(MMAGIC_BIN)/python -m pytest -q
