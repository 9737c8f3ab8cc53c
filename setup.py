"""Build cnncore's one extension module, cnncore._kernels.

Everything (the Cython bindings, csrc/ops, csrc/isa, csrc/probe/fma_peak.c) is compiled for the
baseline of the target. Each micro-kernel file csrc/ukernels/<op>/<tile>__<isa>.c (and each probe
csrc/probe/<name>__<isa>.c) is compiled with only the flags of its ISA and linked in as an object,
so importing cnncore never executes an instruction the CPU lacks: the dispatch tables in csrc/isa
pick a kernel only after checking the CPU. On a target that is not x86-64 (aarch64: Graviton,
Apple silicon under Linux) only the generic files are built, no x86 flag is passed, and dispatch
offers only them. The target is the machine's, or CNNCORE_TARGET_ARCH (e.g. aarch64) when cross
compiling.

Never add -march=native, -mtune=native, -ffast-math or -Ofast here: they make the wheel
non-portable or change the floating-point mode of the whole process.
"""
import glob
import os
import platform

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
COMMON_FLAGS = ["-O3", "-fopenmp", "-fno-math-errno", "-Wall", "-Wno-unused-function"]
X86_ISA_FLAGS = {
    "avx512": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma"],
    "avx2": ["-mavx2", "-mfma"],
}
TARGET_ARCH = os.environ.get("CNNCORE_TARGET_ARCH") or platform.machine()
IS_X86_64 = TARGET_ARCH.lower() in ("x86_64", "amd64", "x64")
# the ISA levels built for the target, each with its flags; generic everywhere
ISA_FLAGS = dict(X86_ISA_FLAGS if IS_X86_64 else {}, generic=[])
INCLUDE_DIRS = ["csrc/include"]
DEBUG_FLAGS = os.environ.get("CNNCORE_SANITIZE", "")  # e.g. "address,undefined" (make sanitize)


def _sanitize_flags():
    if not DEBUG_FLAGS:
        return []
    return ["-fsanitize=" + DEBUG_FLAGS, "-fno-omit-frame-pointer", "-g"]


def ukernel_sources(isa):
    """The files compiled with `isa`'s flags: micro-kernels and measurement probes."""
    return sorted(glob.glob(os.path.join("csrc", "ukernels", "*", "*__%s.c" % isa))
                  + glob.glob(os.path.join("csrc", "probe", "*__%s.c" % isa)))


class BuildExt(build_ext):
    """build_ext that first compiles the micro-kernels, each with its own ISA's flags."""

    def build_extension(self, ext):
        objects = []
        for isa, flags in ISA_FLAGS.items():
            sources = ukernel_sources(isa)
            if not sources:
                continue
            objects += self.compiler.compile(
                sources,
                output_dir=os.path.join(self.build_temp, "ukernels"),
                include_dirs=INCLUDE_DIRS,
                extra_postargs=COMMON_FLAGS + flags + _sanitize_flags(),
                depends=glob.glob("csrc/include/*.h"),
            )
        ext.extra_objects = list(ext.extra_objects or []) + objects
        super().build_extension(ext)


def extensions():
    from Cython.Build import cythonize

    directives = {
        "language_level": 3,
        "boundscheck": bool(os.environ.get("CNNCORE_CYTHON_CHECKS")),
        "wraparound": bool(os.environ.get("CNNCORE_CYTHON_CHECKS")),
        "cdivision": True,
        "initializedcheck": bool(os.environ.get("CNNCORE_CYTHON_CHECKS")),
    }
    sources = ["cnncore/_kernels.pyx"]
    sources += sorted(glob.glob("csrc/ops/*.c")) + sorted(glob.glob("csrc/isa/*.c"))
    sources += sorted(f for f in glob.glob("csrc/probe/*.c") if "__" not in os.path.basename(f))
    ext = Extension(
        "cnncore._kernels",
        sources=sources,
        include_dirs=INCLUDE_DIRS,
        depends=glob.glob("csrc/include/*.h") + glob.glob("cnncore/*.pxi")
        + glob.glob("csrc/ukernels/*/*.c") + glob.glob("csrc/ukernels/*/*.h") + glob.glob("csrc/probe/*.c"),
        extra_compile_args=COMMON_FLAGS + _sanitize_flags(),
        extra_link_args=["-fopenmp"] + _sanitize_flags(),
    )
    return cythonize([ext], compiler_directives=directives, quiet=True)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
