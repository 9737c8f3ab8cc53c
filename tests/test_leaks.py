"""No leaks: 1,000 training steps of a small net (tests/leak_run.py) keep the resident memory flat
after a warm-up, and tracemalloc sees no Python-side growth. valgrind memcheck on a short run:
`make valgrind` (docs/RELIABILITY.md)."""
import gc
import os
import tracemalloc

import pytest

import cnncore
import leak_run


@pytest.fixture(autouse=True)
def one_thread():
    # tiny shapes: one thread avoids a team's spin-waits competing with other processes when the
    # machine is loaded (the speed is the same on an idle one)
    before = cnncore.get_num_threads()
    cnncore.set_num_threads(1)
    yield
    cnncore.set_num_threads(before)


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
def test_thousand_training_steps_keep_rss_flat():
    state = leak_run.make()
    leak_run.train(state, 152)  # warm-up: packings, optimizer state, allocator pools
    gc.collect()
    marks = []
    for _ in range(4):
        leak_run.train(state, 212)
        gc.collect()
        marks.append(rss_bytes())
    steps = [b - a for a, b in zip(marks, marks[1:])]
    # 1,000 steps in all. A leak grows every interval: one leaked activation per step (the smallest
    # is 4 KiB) adds >= 848 KiB to each of the three 212-step intervals. The allocator may grow
    # once (a new arena or heap top when the rest of the suite left the process fragmented: seen
    # once as a single 4.6 MiB step between flat marks), so one flat interval clears it of a
    # steady leak, and the total bounds a large one-off.
    assert min(steps) < 512 * 2 ** 10 and marks[-1] - marks[0] < 8 * 2 ** 20, (
        "RSS grew over 636 steps (marks after each 212: %s, steps %s)" % (marks, steps))


def test_training_steps_keep_python_allocations_flat():
    state = leak_run.make(1)
    leak_run.train(state, 30)
    gc.collect()
    tracemalloc.start()
    try:
        leak_run.train(state, 20)
        gc.collect()
        before = tracemalloc.take_snapshot()
        leak_run.train(state, 120)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    stats = after.compare_to(before, "lineno")
    growth = sum(s.size_diff for s in stats)
    top = "\n".join(str(s) for s in stats[:5])
    # a leaked object per step (an array header is ~100 bytes) would add > 12 KB over 120 steps
    assert growth < 12_000, "Python allocations grew by %d bytes over 120 steps:\n%s" % (growth, top)


def test_valgrind_log_checker_tells_ours_from_the_interpreters(tmp_path):
    """tests/valgrind_check.py (make valgrind) fails on a cnncore frame, not on CPython's."""
    import valgrind_check

    theirs = ("==1== 24 bytes in 1 blocks are definitely lost in loss record 1 of 2\n"
              "==1==    at 0x1: malloc (vg_replace_malloc.c:1)\n"
              "==1==    by 0x2: PyFloat_FromDouble (floatobject.c:149)\n==1== \n")
    ours = ("==1== 64 bytes in 1 blocks are definitely lost in loss record 2 of 2\n"
            "==1==    at 0x1: aligned_alloc (vg_replace_malloc.c:1)\n"
            "==1==    by 0x2: cnn_alloc (threads.c:60)\n"
            "==1==    by 0x3: ??? (in /x/cnncore/_kernels.cpython-311-x86_64-linux-gnu.so)\n==1== \n")
    tail = "==1== ERROR SUMMARY: 1 errors from 1 contexts\n"
    good, bad = tmp_path / "good.log", tmp_path / "bad.log"
    good.write_text(theirs + tail)
    bad.write_text(theirs + ours + tail)
    assert valgrind_check.main(str(good)) == 0
    assert valgrind_check.main(str(bad)) == 1
