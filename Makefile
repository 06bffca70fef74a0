# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Snakemake's cores: every CPU of the machine (nproc; 2 where nproc is missing).
CORES  ?= $(shell nproc 2>/dev/null || echo 2)
# On these machines torch comes from a CPU wheel kept on disk: pin it exactly so pip
# never resolves a CUDA build (gigabytes). Override with TORCH_SPEC=torch on a GPU box.
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: run test test-slurm setup lint check-python

# airshower (and Snakemake 9) need Python >= 3.11: checked before the venv is made, so an older
# interpreter stops with one line instead of pip's resolver errors. Nothing to check once it exists.
check-python:
	@test -x $(BIN)/python && exit 0; \
	v=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || v=; \
	case "$$v" in \
	3.1[1-9]|3.[2-9][0-9]|[4-9].*) ;; \
	*) echo "airshower needs Python >= 3.11; $(PYTHON) is $${v:-not a runnable Python} (set PYTHON=python3.11 or newer)" >&2; \
	   exit 1;; \
	esac

$(STAMP): pyproject.toml | check-python
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[workflow,test]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --workflow-profile workflow/profiles/default

# pytest includes the tiny end-to-end run of the workflow on tests/config/config.yaml
# (tests/test_workflow.py), then the workflow is linted.
test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/snakemake --lint

lint: $(STAMP)
	$(BIN)/snakemake --lint

# The tiny study on a real SLURM cluster: a one-node cluster on loopback (root; Debian's
# packages: `scripts/slurm-cluster.sh install`), every non-local rule as its own SLURM job
# (tests/test_slurm.py). Stops the cluster afterwards unless it was already running.
test-slurm: $(STAMP)
	@if scripts/slurm-cluster.sh status >/dev/null 2>&1; then started=0; \
	else scripts/slurm-cluster.sh start || exit 1; started=1; fi; \
	AIRSHOWER_SLURM_TEST=1 PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q tests/test_slurm.py; \
	status=$$?; if [ $$started = 1 ]; then scripts/slurm-cluster.sh stop; fi; exit $$status
