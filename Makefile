# Two entry points that work on a fresh machine (see README):
#   make demo   render shotlists/harbor-teaser.yaml offline into out/
#   make test   run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test bench clean

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

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) bench/run.py
	$(PY) bench/continuity.py

clean:
	rm -rf out .reelflow
