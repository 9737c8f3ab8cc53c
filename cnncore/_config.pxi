# ISA dispatch and threads.
from libc.stdint cimport int64_t, int32_t

cdef extern from "cnn_common.h":
    void cnn_set_num_threads(int n) nogil
    int cnn_get_num_threads() nogil
    int cnn_cpu_limit()
    int cnn_cgroup_cpu_limit(const char* root)
    const char* cnn_openmp_runtime()
    int CNN_OK, CNN_ENOMEM, CNN_EINVAL

cdef extern from "cnn_isa.h":
    int cnn_isa_detect()
    int cnn_isa_select(int level)
    int cnn_isa_current()
    const char* cnn_isa_name(int level)
    ctypedef struct cnn_conv_config:
        const char* fwd_name
        const char* bww_name
        const char* bww_small_name
        size_t bww_max_lanes
    ctypedef struct cnn_dwconv_config:
        const char* fwd_name
        const char* bww_name
    ctypedef struct cnn_act_config:
        const char* fwd_name
        const char* bwd_name
    cnn_conv_config cnn_conv_cfg
    cnn_dwconv_config cnn_dwconv_cfg
    ctypedef struct cnn_bn_config:
        const char* name
    cnn_act_config cnn_act_cfg
    ctypedef struct cnn_pool_config:
        const char* max_window_name
    cnn_bn_config cnn_bn_cfg
    cnn_pool_config cnn_pool_cfg

ISA_LEVELS = ("generic", "avx2", "avx512")


cdef int _check(int rc) except -1:
    if rc == CNN_ENOMEM:
        raise MemoryError("cnncore: could not allocate a temporary buffer")
    if rc != CNN_OK:
        raise RuntimeError("cnncore: internal error %d" % rc)
    return 0


def isa_detected():
    """Highest ISA level the CPU supports: 'avx512', 'avx2' or 'generic'."""
    return ISA_LEVELS[cnn_isa_detect()]


def isa_select(str name):
    """Use the kernels of level `name`, clamped to what the CPU supports; returns the level used."""
    return ISA_LEVELS[cnn_isa_select(ISA_LEVELS.index(name))]


def isa_current():
    return ISA_LEVELS[cnn_isa_current()]


def kernel_names():
    """The micro-kernel each operator uses at the current level."""
    return {
        "conv2d": cnn_conv_cfg.fwd_name.decode(),
        "conv2d_backward_weights": cnn_conv_cfg.bww_name.decode(),
        "conv2d_backward_weights_few_inputs": cnn_conv_cfg.bww_small_name.decode(),
        "depthwise_conv2d": cnn_dwconv_cfg.fwd_name.decode(),
        "depthwise_conv2d_backward_weights": cnn_dwconv_cfg.bww_name.decode(),
        "activation": cnn_act_cfg.fwd_name.decode(),
        "activation_backward": cnn_act_cfg.bwd_name.decode(),
        "batch_norm": cnn_bn_cfg.name.decode(),
        "max_pool2d": cnn_pool_cfg.max_window_name.decode(),
        "linear": gemm_kernel()[0],
    }


def set_num_threads(int n):
    cnn_set_num_threads(n)


def get_num_threads():
    return cnn_get_num_threads()


def cpu_limit():
    """CPUs this process may use: the affinity mask capped by the cgroup CPU quota."""
    return cnn_cpu_limit()


def cgroup_cpu_limit(str root):
    """CPUs granted by the cgroup quota under the directory `root` (0: no quota)."""
    return cnn_cgroup_cpu_limit(root.encode())


def openmp_runtime():
    return cnn_openmp_runtime().decode()


cdef extern from "cnn_probe.h":
    double cnn_fma_peak_run(int64_t iterations, int threads, float* sink) nogil


def fma_peak_run(int64_t iterations, int threads):
    """Run the FMA probe of the current ISA on `threads` threads; returns the flops executed."""
    cdef float sink = 0
    cdef double flops
    with nogil:
        flops = cnn_fma_peak_run(iterations, threads, &sink)
    return flops

