/* The one place that decides how many threads an operator uses. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn_common.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static int explicit_threads = 0;

/* Fork safety. GNU libgomp is not fork-safe: a child forked after the parent ran a parallel
 * region inherits the runtime's state but not its worker threads, and its next parallel region
 * with more than one thread waits forever for them. So a forked child runs every kernel on one
 * thread (a team of one never touches the pool) until it calls cnn_set_num_threads itself, which
 * is then its own decision (safe with a runtime that supports it, e.g. LLVM's libomp, or in a
 * child of a parent that never ran a kernel; documented in the README). */
static volatile int forked_child = 0;

static void on_fork_child(void) { forked_child = 1; }

__attribute__((constructor)) static void register_fork_handler(void) {
    pthread_atfork(NULL, NULL, on_fork_child);
}

int cnn_forked_child(void) { return forked_child; }

void cnn_set_num_threads(int n) {
    explicit_threads = n > 0 ? n : 0;
    if (n > 0) forked_child = 0; /* returning to the default (n <= 0) keeps a child on one thread */
}

/* CPUs a cgroup quota grants below `root` (cgroup v2 cpu.max "quota period", v1
 * cpu.cfs_quota_us / cpu.cfs_period_us), rounded up; 0 when there is no quota. As
 * scikit-learn's (loky's) cpu_count: the files at the root of the container's cgroup mount. */
int cnn_cgroup_cpu_limit(const char* root) {
    char path[4096];
    long long quota = -1, period = 0;
    FILE* f;
    snprintf(path, sizeof path, "%s/cpu.max", root);
    if ((f = fopen(path, "r"))) {
        char q[32] = "";
        if (fscanf(f, "%31s %lld", q, &period) == 2 && strcmp(q, "max") != 0) quota = atoll(q);
        fclose(f);
    } else {
        snprintf(path, sizeof path, "%s/cpu/cpu.cfs_quota_us", root);
        if ((f = fopen(path, "r"))) {
            if (fscanf(f, "%lld", &quota) != 1) quota = -1;
            fclose(f);
        }
        snprintf(path, sizeof path, "%s/cpu/cpu.cfs_period_us", root);
        if ((f = fopen(path, "r"))) {
            if (fscanf(f, "%lld", &period) != 1) period = 0;
            fclose(f);
        }
    }
    if (quota <= 0 || period <= 0) return 0;
    long long cpus = (quota + period - 1) / period;
    return cpus > 1 << 20 ? 1 << 20 : (int)cpus;
}

/* CPUs this process may use: its affinity mask (taskset, sched_setaffinity), capped by the
 * cgroup CPU quota (a container limited to 2 CPUs on a 64-core host); at least 1. */
int cnn_cpu_limit(void) {
    int n = 0;
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
#endif
    if (n <= 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online > 0 ? (int)online : 1;
    }
    int quota = cnn_cgroup_cpu_limit("/sys/fs/cgroup");
    if (quota > 0 && quota < n) n = quota;
    return n;
}

/* Read once, when the library loads (as the OpenMP runtime reads OMP_NUM_THREADS): whether
 * OMP_NUM_THREADS is set, the runtime's default team size (a different value later means
 * omp_set_num_threads was called, e.g. threadpoolctl's limit, which is then followed) and the
 * CPUs this process may use. */
static int omp_env_set = 0;
static int runtime_default = 0;
static int cpu_limit = 1;

__attribute__((constructor)) static void read_defaults(void) {
    const char* env = getenv("OMP_NUM_THREADS");
    omp_env_set = env && *env;
#ifdef _OPENMP
    runtime_default = omp_get_max_threads();
#endif
    cpu_limit = cnn_cpu_limit();
}

/* set_num_threads(n) if called; else OMP_NUM_THREADS (or a threadpoolctl limit) through the
 * OpenMP runtime; else the CPUs this process may use (affinity mask and cgroup quota). */
int cnn_get_num_threads(void) {
    if (forked_child) return 1;
    if (explicit_threads > 0) return explicit_threads;
#ifdef _OPENMP
    int runtime = omp_get_max_threads();
    if (omp_env_set || runtime != runtime_default) return runtime;
    return runtime < cpu_limit ? runtime : cpu_limit;
#else
    return 1;
#endif
}

int cnn_threads_for(int64_t work_items) {
    int64_t t = cnn_get_num_threads();
    if (work_items < t) t = work_items;
    return t < 1 ? 1 : (int)t;
}

#define CNN_FLOPS_PER_THREAD (1 << 20)

int cnn_threads_for_work(int64_t work_items, double flops) {
    const double by_work = flops / CNN_FLOPS_PER_THREAD + 1.0;
    return cnn_threads_for(by_work < (double)work_items ? (int64_t)by_work : work_items);
}

const char* cnn_openmp_runtime(void) {
#ifdef _OPENMP
    Dl_info info;
    if (dladdr((void*)&omp_get_max_threads, &info) && info.dli_fname) {
        const char* slash = strrchr(info.dli_fname, '/');
        return slash ? slash + 1 : info.dli_fname;
    }
    return "unknown";
#else
    return "none";
#endif
}
