# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORES  ?= 2
# On these machines torch comes from a CPU wheel kept on disk: pin it exactly so pip
# never resolves a CUDA build (gigabytes). Override with TORCH_SPEC=torch on a GPU box.
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: run test setup lint clean-results test-unit test-workflow

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[workflow,test]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --workflow-profile workflow/profiles/default

test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/snakemake --lint
	$(BIN)/python -m airshower.tools.tiny_run

lint: $(STAMP)
	$(BIN)/snakemake --lint
