# Two commands on a fresh machine (each creates .venv and installs the pinned versions first):
#   make book   executes every chapter and builds the HTML book into _build/html
#   make test   runs every test: ruff, course_lib unit tests, nbval over every chapter,
#               the book build with warnings as errors, and the browser test of the built book
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export COURSE_PROGRESS := 0
export PYTHONHASHSEED := 0

.PHONY: book test setup students benchmark sweep lock clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --all --warningiserror --nitpick --keep-going

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python tools/sync_notebooks.py --check
	COURSE_SIZE=fast $(BIN)/python -m pytest -p no:cacheprovider tests notebooks --nbval-lax --durations=15 -rs

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
