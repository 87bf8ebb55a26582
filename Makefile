# make install  - create .venv with everything the project needs (torch pinned to the local CPU wheel)
# make test     - install (and Label Studio, in .venv-labelstudio), lint with ruff, build the docs site, run the tests (offline)
# make demo     - install, train the tiny model on the bundled annotations, cross-validate, evaluate, tag data/raw
# make docs     - build the documentation site (MkDocs, Material theme) into site/, strictly
PYTHON ?= python3
VENV := .venv
LS_VENV := .venv-labelstudio
LABEL_STUDIO_VERSION := 1.23.2
PY := $(VENV)/bin/python
ARABIC_NER := $(VENV)/bin/arabic-ner
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_NO_ADVISORY_WARNINGS := 1

.PHONY: install test lint docs demo clean chromium readme-plots

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: an unpinned torch would pull several GB of CUDA packages
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	# the notebook's kernel: this venv's python, not whatever "python3" kernel the machine has
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (arabic-ner .venv)"
	touch $@

test: install chromium $(LS_VENV)/.installed-$(LABEL_STUDIO_VERSION) lint docs
	$(PY) -m pytest -q

# pyflakes, pycodestyle and import order, as configured in pyproject.toml
lint: install
	$(PY) -m ruff check .

# the docs site from mkdocs.yml and docs/; --strict turns every warning (a broken link, a page not in the nav) into a failure
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir site

# tests/integration/test_html_view.py screenshots a page in headless Chromium (the Debian package; apt-get needs root)
chromium:
	command -v chromium >/dev/null || { if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update && $$SUDO apt-get install -y chromium; }

# The real Label Studio server that tests/labelstudio_server.py starts: its own virtualenv, because it
# pins its own Django stack. The marker names the version, so changing the pin reinstalls it.
$(LS_VENV)/.installed-$(LABEL_STUDIO_VERSION):
	rm -rf $(LS_VENV)
	$(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LS_VENV)/bin/python -m pip install --quiet label-studio==$(LABEL_STUDIO_VERSION)
	touch $@

demo: install
	$(ARABIC_NER) train --config configs/tiny.yaml --overwrite
	$(ARABIC_NER) train --config configs/tiny.yaml --cv 5 --output-dir models/tiny
	$(ARABIC_NER) evaluate --model models/tiny --data annotations/corpus.json --output-dir reports/tiny
	$(ARABIC_NER) predict --model models/tiny --input data/raw --output outputs/tagged.jsonl --overwrite
	$(ARABIC_NER) predict --model models/tiny --input data/raw --output outputs/tagged.labelstudio.json --overwrite
	$(ARABIC_NER) predict --model models/tiny --input data/raw --output outputs/pages --format html --overwrite
	@echo "model + card + CV: models/tiny   evaluation: reports/tiny/report.md   tagged: outputs/"

# Copy the plots of the last `make demo` into docs/images/, where the README shows them.
readme-plots:
	mkdir -p docs/images
	cp models/tiny/training_curves.png models/tiny/cv.png docs/images/
	cp reports/tiny/scores_per_type.png reports/tiny/confusion.png reports/tiny/errors_by_kind.png docs/images/

clean:
	rm -rf models reports outputs site build .pytest_cache
