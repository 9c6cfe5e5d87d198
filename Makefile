# The two commands of the README. Both set everything up themselves (scripts/setup.sh).
VENV ?= .venv
OUT ?= out

.PHONY: setup demo test sample lint typecheck bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/bin/acuity analyze sample_dicom/ -o $(OUT)/

test: setup
	$(VENV)/bin/python -m pytest -q

sample: setup
	$(VENV)/bin/python scripts/make_sample_study.py -o sample_dicom

lint: setup
	$(VENV)/bin/ruff check acuity scripts tests

typecheck: setup
	$(VENV)/bin/python -m mypy

bench: setup
	$(VENV)/bin/python scripts/bench_ingest.py
	$(VENV)/bin/python scripts/bench_segmentation.py
	$(VENV)/bin/python scripts/bench_pipeline.py

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache
