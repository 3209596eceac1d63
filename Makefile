# Two commands on a fresh machine (each creates .venv and installs the pinned versions first):
#   make book   executes every chapter and builds the HTML book into _build/html (with the
#               student versions of the chapters in _build/html/student)
#   make test   runs every test: ruff, course_lib unit tests, every chapter executed once (its
#               claims, its stored claim outputs, its student version), the book built from
#               those executions with warnings as errors, and the browser test of the built book
#   make unit   ruff and the library's unit tests only (no chapter executed; under a minute)
#   make pdf    the whole book as one PDF (_build/pdf/book.pdf), after make book
#   make lowerbounds   the library and chapter 1 on the Colab-like lower bounds of pyproject.toml
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export COURSE_PROGRESS := 0
export PYTHONHASHSEED := 0

.PHONY: book pdf test unit lowerbounds setup students benchmark sweep lock clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

book: $(STAMP)
	rm -rf _build/.jupyter_cache
	$(BIN)/jupyter-book build . --all --warningiserror --nitpick --keep-going
	$(BIN)/python tools/make_student_notebooks.py --out _build/html/student

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python tools/sync_notebooks.py --check
	COURSE_SIZE=fast $(BIN)/python -m pytest -p no:cacheprovider tests -m "not lowerbounds" --durations=15 -rs

unit: $(STAMP)
	$(BIN)/ruff check .
	COURSE_SIZE=fast $(BIN)/python -m pytest -p no:cacheprovider tests -m "not slow and not lowerbounds" -q

# The Colab-like lower bounds (numpy 1.26, matplotlib 3.8, ipywidgets 7.7) in a new environment:
# the library's unit tests and chapter 1 (several minutes; not part of make test)
lowerbounds: $(STAMP)
	COURSE_SIZE=fast $(BIN)/python -m pytest -p no:cacheprovider tests/test_environment.py -m lowerbounds -rs

# The whole book as one PDF, _build/pdf/book.pdf: Jupyter Book's single-page HTML printed by the
# system Chromium (solutions stay folded, so they are left out); run after make book or make test,
# whose execution cache it reuses
pdf: $(STAMP)
	$(BIN)/jupyter-book build . --builder singlehtml --warningiserror --nitpick --keep-going
	$(BIN)/python tools/make_pdf.py

# Student versions of every chapter (solutions replaced by stubs, outputs cleared) in student/
students: $(STAMP)
	$(BIN)/python tools/make_student_notebooks.py

# Timings of this machine (datasets, fit vs a hand-written loop, every chapter) into benchmarks/
benchmark: $(STAMP)
	$(BIN)/python benchmarks/run.py

# Every chapter over many seeds (fast size): each claim's worst margin into benchmarks/seed_sweep.json
SEEDS ?= 200-229
sweep: $(STAMP)
	$(BIN)/python tools/seed_sweep.py --seeds $(SEEDS)

# Regenerate requirements.lock (every package pinned) from the direct pins in requirements.txt
lock:
	rm -rf .lockvenv
	$(PYTHON) -m venv .lockvenv
	.lockvenv/bin/python -m pip install --quiet -r requirements.txt
	{ sed -n '1,3p' requirements.lock; .lockvenv/bin/python -m pip freeze | sed 's/+cpu$$//' | sort -f; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
	rm -rf .lockvenv

clean:
	rm -rf _build student
