# Impact Workbench: `make run` sets everything up and opens the workbench on the demo;
# `make test` sets everything up and runs the whole test suite.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTHON ?= python3
STAMP  := $(VENV)/.installed

.PHONY: setup system-deps audio-deps run test bench clean

setup: $(STAMP)

# torch is installed first, pinned: on these machines `pip install torch==2.13.0` takes the
# CPU build lying on disk; an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test]"
	$(PY) -c "from workbench.soundmap import warm_up; print(f'sound map kernels compiled in {warm_up():.0f} s')"
	touch $@

# Debian packages for the browser tests (Chromium), audio playback (PortAudio) and the Faust
# export's round trip (the faust compiler and g++ build the exported .dsp).
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! ldconfig -p | grep -q libportaudio || [ ! -x /usr/bin/faust ] \
	    || [ ! -x /usr/bin/g++ ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libportaudio2 \
	      faust g++ >/dev/null; \
	  else echo "note: run 'sudo apt-get install chromium libportaudio2 faust g++' for the browser and Faust tests"; fi; \
	fi

# Debian's PortAudio alone (what `sounddevice` needs for "Play on this machine"; `make run` asks for it).
audio-deps:
	@if ! ldconfig -p | grep -q libportaudio; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libportaudio2 >/dev/null; \
	  else echo "note: run 'sudo apt-get install libportaudio2' to play sounds on this machine's speakers"; fi; \
	fi

run: setup audio-deps
	$(VENV)/bin/workbench serve

test: setup system-deps
	$(PY) -m pytest

# Benchmarks (not tests): each prints a table and writes bench/results/<name>.md.
bench: setup system-deps
	$(PY) bench/render.py
	$(PY) bench/detect.py
	$(PY) bench/fit.py
	$(PY) bench/export_roundtrip.py
	$(PY) bench/faust_roundtrip.py
	$(PY) bench/dashboard.py
	$(PY) bench/library.py

clean:
	rm -rf $(VENV) out build *.egg-info
