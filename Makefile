# make install  - create .venv with everything the project needs (torch pinned to the local CPU wheel)
# make test     - install, then run the test suite (offline)
# make demo     - install, train the tiny model on the bundled annotations, cross-validate, evaluate, tag data/raw
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_NO_ADVISORY_WARNINGS := 1

.PHONY: install test demo clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: an unpinned torch would pull several GB of CUDA packages
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

test: install
	$(PY) -m pytest -q

demo: install
	$(PY) train.py --config configs/tiny.yaml
	$(PY) train.py --config configs/tiny.yaml --cv 5 --output-dir reports/tiny-cv
	$(PY) evaluate.py --model models/tiny --data annotations/corpus.json --output-dir reports/tiny
	$(PY) predict.py --model models/tiny --input data/raw --output outputs/tagged.jsonl
	$(PY) predict.py --model models/tiny --input data/raw --output outputs/tagged.labelstudio.json
	@echo "model: models/tiny  CV: reports/tiny-cv/cv.md  report: reports/tiny/report.md  tagged: outputs/"

clean:
	rm -rf models reports outputs .pytest_cache
