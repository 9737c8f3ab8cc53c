"""The forward convolution's register tiles (csrc/ukernels/conv/conv2d_fwd_nchw16c.inc.h) and
their choice per shape (csrc/isa/conv_fwd_candidates.c), at every ISA level the CPU has.

Each tile of the ISA's kernel is forced (conv_forward_force_tile) on convolutions whose interior
row is exactly the forced pixel count, for pixel counts below, at and past the kernel's largest
tile for that block count and for output-channel counts that fill the blocks, leave the last
block partial (c_out not a multiple of 16) or add one more block than the tile holds; forward
and backward-data (which runs the same engine) against tests/reference.py. Then the per-shape
choice: the candidate each shape gets, and grouped convolutions (blocks that do not share
their input) running one block per tile. Outputs start NaN-filled (conftest), so an element a
tile leaves unwritten fails.
"""
import numpy as np
import pytest

from cnncore import _kernels
from cnncore import functional as F

try:  # tests/ may or may not be a package
    from . import reference as R
    from .conftest import assert_close
except ImportError:
    import reference as R
    from conftest import assert_close


@pytest.fixture
def forced_tile():
    """conv_forward_force_tile, undone after the test."""
    yield _kernels.conv_forward_force_tile
    _kernels.conv_forward_force_tile(0, 0)


def _arrays(n, cin, h, w, cout, k, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, cin, h, w)).astype(np.float32)
    wt = (rng.standard_normal((cout, cin, k, k)) / np.sqrt(cin * k * k)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    return x, wt, b


def _check(x, w, b, **kw):
    """Forward (with bias) and backward-data against the reference."""
    assert_close(F.conv2d(x, w, b, **kw), R.conv2d(x, w, b, **kw), name="forward")
    y = R.conv2d(x, w, None, **kw)
    gy = np.random.default_rng(7).standard_normal(y.shape).astype(np.float32)
    gx = F.conv2d_backward(gy, x, w, **kw)[0]
    assert_close(gx, R.conv2d_backward(gy, x, w, **kw)[0], name="grad_input")


def _tile_cases():
    """(blocks, pixels) below, at and past each tile of the current ISA's kernel, and one more
    block than it holds."""
    max_blocks, _, max_pix = _kernels.conv_forward_tiles()
    cases = []
    for b in range(1, max_blocks + 2):
        top = max_pix[min(b, max_blocks) - 1]
        cases += [(b, p) for p in sorted({1, max(1, top - 1), top, top + 1})]
    return cases


def test_tiles_exported(isa):
    max_blocks, vectors, max_pix = _kernels.conv_forward_tiles()
    assert 1 <= max_blocks <= 4 and len(max_pix) == max_blocks
    assert vectors == {"generic": 4, "avx2": 2, "avx512": 1}[isa]
    assert all(p >= 1 for p in max_pix) and max_pix == sorted(max_pix, reverse=True)


def test_forced_tiles_forward_and_backward_data(isa, forced_tile):
    for blocks, pix in _tile_cases():
        forced_tile(blocks, pix)
        # cout: the tile's blocks full, the last block partial, one block past the tile
        for cout in (16 * blocks, 16 * blocks - 5, 16 * blocks + 3):
            # no padding: the interior row is exactly `pix` columns; 19 inputs: two input blocks,
            # the last with 3 lanes
            x, w, b = _arrays(1, 19, 3, pix + 2, cout, 3, seed=blocks * 100 + pix)
            _check(x, w, b)


def test_forced_tiles_with_padding_stride_dilation(isa, forced_tile):
    max_blocks, _, max_pix = _kernels.conv_forward_tiles()
    for blocks in range(1, max_blocks + 1):
        forced_tile(blocks, max_pix[blocks - 1])
        x, w, b = _arrays(2, 17, 7, 2 * max_pix[blocks - 1] + 3, 16 * blocks + 7, 3, seed=blocks)
        for kw in (dict(padding=1), dict(stride=2, padding=1), dict(dilation=2, padding=2),
                   dict(stride=(1, 2), padding=(0, 1))):
            _check(x, w, b, **kw)


# the candidate the cost model picks on avx512 (avx2's and generic's two-block tiles do not keep
# all their weights in registers: there the model picks them only where they save pixel tiles)
@pytest.mark.parametrize("cin,cout,hw,k,pad,expect", [
    (64, 64, 12, 3, 1, "blocks"),   # 4 output blocks sharing their input
    (3, 32, 16, 3, 1, "blocks"),    # 2 blocks, few input lanes
    (64, 16, 12, 3, 1, "row"),      # one output block
    (32, 64, 8, 1, 0, "blocks"),    # 1x1
])
def test_candidate_per_shape(isa, cin, cout, hw, k, pad, expect):
    x, w, b = _arrays(2, cin, hw, hw, cout, k, seed=cin + cout)
    assert_close(F.conv2d(x, w, b, padding=pad), R.conv2d(x, w, b, padding=pad), name="forward")
    candidate, kernel, blocks, pix = _kernels.conv_forward_last_plan()
    assert kernel.endswith("__" + isa)
    _, _, max_pix = _kernels.conv_forward_tiles()
    if isa == "avx512":
        assert candidate == expect
    assert (blocks >= 2) == (candidate == "blocks") and pix == max_pix[blocks - 1]


def test_groups_run_one_block_per_tile(isa, forced_tile):
    """Blocks of different groups read different input blocks: never in one tile, even forced."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 64, 6, 9)).astype(np.float32)
    w = rng.standard_normal((64, 16, 3, 3)).astype(np.float32) / 12
    b = rng.standard_normal(64).astype(np.float32)
    for force in (0, 4):
        forced_tile(force, 6)
        assert_close(F.conv2d(x, w, b, padding=1, groups=4),
                     R.conv2d(x, w, b, padding=1, groups=4), name="grouped forward")
        assert _kernels.conv_forward_last_plan()[2] == 1


def test_force_tile_rejects_negative():
    with pytest.raises(ValueError, match="blocks and pix must be >= 0"):
        _kernels.conv_forward_force_tile(-1, 2)
