# The two commands of the README. Both work on a fresh clone: they create .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/facebridge animate --image samples/astronaut.png --audio samples/hello.wav \
		--text-file samples/hello.txt --out out/demo
	@echo "demo: open out/demo/preview.mp4 (animation data: out/demo/animation.json)"

# pytest exits 5 when it collected no test: that is a failure here, never a silent pass.
test: $(STAMP)
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest ran no tests" >&2; exit 1; fi; exit $$rc

bench: $(STAMP)
	$(PY) bench/lipsync.py
	$(PY) bench/speed.py
	$(PY) bench/emotion_text.py

clean:
	rm -rf out build *.egg-info .pytest_cache
