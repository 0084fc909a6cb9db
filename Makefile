# The two commands of the README. Both work on a fresh clone: they create .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

TEST_STAMP := $(VENV)/.installed-test

# The demo needs the run-time dependencies only (no torch).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

# The tests also train small models and build a tiny Hugging Face classifier: torch first, pinned
# to the CPU wheel (a looser request would pull a multi-GB CUDA build), then the test extra.
$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(TEST_STAMP)

demo: $(STAMP)
	$(VENV)/bin/facebridge animate --image samples/astronaut.png --audio samples/hello.wav \
		--text-file samples/hello.txt --out out/demo
	@echo "demo: open out/demo/preview.mp4 (animation data: out/demo/animation.json)"

# pytest exits 5 when it collected no test: that is a failure here, never a silent pass.
# Debian packages the tests drive, installed from apt when missing and we are root (as CI is):
# espeak-ng (viseme training), chromium (the browser monitor), mono-mcs + libzmq5 (the Unity
# client), cmake + the zmq/msgpack C++ headers (the Unreal client's core), node + npm (the
# Khronos glTF validator that checks bake's .glb).
TEST_APT := espeak-ng chromium mono-mcs libzmq5 cmake g++ libzmq3-dev cppzmq-dev libmsgpack-cxx-dev nodejs npm
test: $(TEST_STAMP)
	@missing=; for c in espeak-ng chromium mcs mono cmake g++ node npm; do command -v $$c >/dev/null || missing=1; done; \
	for f in /usr/include/zmq.hpp /usr/include/msgpack.hpp; do [ -e $$f ] || missing=1; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then { apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TEST_APT) >/dev/null; } || \
			echo "make test: apt-get failed; the tests that need $(TEST_APT) skip" >&2; \
		else echo "make test: not root, cannot install $(TEST_APT); the tests that need them skip" >&2; fi; \
	fi
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest ran no tests" >&2; exit 1; fi; exit $$rc

bench: $(TEST_STAMP)
	$(PY) bench/lipsync.py
	$(PY) bench/speed.py
	$(PY) bench/emotion_text.py
	$(PY) bench/expression.py
	$(PY) bench/expression.py --renderer generator
	$(PY) bench/generator.py
	$(PY) bench/daemon.py
	$(PY) bench/soak.py --minutes 10
	$(PY) bench/capture.py
	$(PY) bench/outputs.py
	$(PY) bench/clients.py
	$(PY) bench/soak.py --minutes 10 --monitor
	$(PY) bench/listening.py --split test --live
	$(PY) bench/listen_soak.py --minutes 60
	$(PY) bench/bake.py

clean:
	rm -rf out build *.egg-info .pytest_cache
