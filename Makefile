# Two entry points that work on a fresh machine (see README):
#   make demo   render shotlists/harbor-teaser.yaml offline into out/
#   make test   run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test stress bench clean

$(VENV)/.installed: pyproject.toml .ci/overrides.txt
	bash .ci/system-deps.sh
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet uv
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) --override .ci/overrides.txt -e ".[test]"
	@$(PY) -c "import shutil,sys; shutil.which('espeak-ng') or print('note: espeak-ng not installed; dialogue renders as placeholder tones (apt-get install espeak-ng)', file=sys.stderr)"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/reelflow render shotlists/harbor-teaser.yaml --out out --approve-all

# Two workers side by side, a file at a time (a file's fixtures stay in one process), the
# longest files first (tests/conftest.py): 968 s -> 615 s on this 2-core machine.
TEST_WORKERS ?= 2
test: setup
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15

# Every test that sends a signal or measures time, 20 times, two at once (CI's load).
stress: setup
	bash .ci/stress 20

bench: setup
	$(PY) bench/run.py
	$(PY) bench/continuity.py

clean:
	rm -rf out .reelflow
