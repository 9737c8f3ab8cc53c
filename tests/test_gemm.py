"""The packed GEMM behind Linear (csrc/ops/gemm.c, csrc/ukernels/gemm/) against float64 NumPy, at
every ISA level, at the edges of its micro-tile (MR x NR) and k block (KC): sizes below, at and
past each, K=1, N=1, every transpose, with and without bias, B packed ahead or per call."""
import numpy as np
import pytest

import cnncore
from cnncore import _kernels
from cnncore import functional as F
from conftest import assert_close


def _operands(rng, m, n, k, trans_a, trans_b):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = (rng.standard_normal((n, k) if trans_b else (k, n)) / np.sqrt(k)).astype(np.float32)
    return a, b


def _want(a, trans_a, b, trans_b, bias):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    c = (a64.T if trans_a else a64) @ (b64.T if trans_b else b64)
    return c if bias is None else c + bias


def _edges(t):
    return sorted({s for s in (1, t - 1, t, t + 1, 2 * t + 3) if s >= 1})


def test_gemm_at_every_tile_and_block_edge(isa):
    _, mr, nr, kc = _kernels.gemm_kernel()
    rng = np.random.default_rng(0)
    for k in (1, 3, kc, kc + 1):
        for m in _edges(mr):
            for n in _edges(nr):
                ta, tb = bool((m + n) % 2), bool((m + k) % 2)  # every transpose pair occurs
                a, b = _operands(rng, m, n, k, ta, tb)
                bias = rng.standard_normal(n).astype(np.float32) if n % 2 else None
                want = _want(a, ta, b, tb, bias)
                got = _kernels.gemm(a, ta, b, tb, bias)
                assert_close(got, want, name="gemm m=%d n=%d k=%d ta=%d tb=%d" % (m, n, k, ta, tb))
                # B packed ahead: the same kernel in the same order, so the same bits
                packed = _kernels.gemm_pack_b(b, tb)
                assert np.array_equal(_kernels.gemm_packed(a, ta, packed, bias), got)


@pytest.mark.parametrize("trans_a, trans_b", [(False, False), (False, True), (True, False), (True, True)])
def test_gemm_every_transpose_past_two_k_blocks(isa, trans_a, trans_b):
    _, mr, nr, kc = _kernels.gemm_kernel()
    rng = np.random.default_rng(1)
    m, n, k = 3 * mr + 2, 2 * nr + 5, 2 * kc + 7
    a, b = _operands(rng, m, n, k, trans_a, trans_b)
    bias = rng.standard_normal(n).astype(np.float32)
    assert_close(_kernels.gemm(a, trans_a, b, trans_b, bias), _want(a, trans_a, b, trans_b, bias))


def test_gemm_empty_k_gives_the_bias(isa):
    bias = np.arange(5, dtype=np.float32)
    c = _kernels.gemm(np.zeros((3, 0), np.float32), False, np.zeros((0, 5), np.float32), False, bias)
    assert np.array_equal(c, np.tile(bias, (3, 1)))
    c = _kernels.gemm(np.zeros((0, 3), np.float32), True, np.zeros((0, 5), np.float32), False)
    assert np.array_equal(c, np.zeros((3, 5), np.float32))


def test_gemm_one_and_two_threads_identical(isa, restore_threads):
    _, mr, nr, kc = _kernels.gemm_kernel()
    rng = np.random.default_rng(2)
    m, n, k = 5 * mr + 3, 7 * nr + 1, kc + 9
    a, b = _operands(rng, m, n, k, False, True)
    bias = rng.standard_normal(n).astype(np.float32)
    out = {}
    for t in (1, 2):
        cnncore.set_num_threads(t)
        out[t] = [_kernels.gemm(a, False, b, True, bias), _kernels.gemm(a, True, b.T.copy(), False)]
    for one, two in zip(out[1], out[2]):
        assert np.array_equal(one, two)


def test_gemm_nan_and_inf_stay_in_their_rows_and_columns(isa):
    _, mr, nr, _ = _kernels.gemm_kernel()
    m, n, k = mr + 1, nr + 1, 5
    a = np.ones((m, k), np.float32)
    b = np.ones((k, n), np.float32)
    a[m - 1, 2] = np.nan
    b[1, n - 1] = np.inf
    c = _kernels.gemm(a, False, b, False)
    want = _want(a, False, b, False, None)
    assert np.array_equal(np.isnan(c), np.isnan(want)) and np.array_equal(np.isinf(c), np.isinf(want))
    assert np.all(c[:m - 1, :n - 1] == k)


def test_packing_from_another_isa_level_is_rejected_or_rebuilt():
    levels = cnncore.available_isas()
    previous = cnncore.get_isa()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((9, 40)).astype(np.float32)
    w = rng.standard_normal((70, 40)).astype(np.float32)
    try:
        cnncore.set_isa(levels[-1])
        stale = _kernels.gemm_pack_b(w, True)
        packed = F.PackedLinear(w)
        for level in levels:
            cnncore.set_isa(level)
            assert_close(F.linear_packed(x, packed), x.astype(np.float64) @ w.T.astype(np.float64))
            if _kernels.gemm_kernel()[2] != stale[3]:
                with pytest.raises(ValueError, match="packing: packed for panels of"):
                    _kernels.gemm_packed(x, False, stale)
    finally:
        cnncore.set_isa(previous)
