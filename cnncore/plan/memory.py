"""The static memory plan of a compiled plan: every buffer (activation or scratch) gets an offset
in one arena, so that buffers alive at the same time never overlap (greedy by size, as XNNPACK's
memory planner and TFLite's arena planner do)."""

ALIGN = 16  # floats: 64 bytes, one cache line and one NCHW16c pixel


def _aligned(size):
    return -(-size // ALIGN) * ALIGN


def plan_memory(buffers):
    """buffers: a list of (size in floats, first step, last step) (the steps where the buffer is
    written first and read last, inclusive). Returns (offsets, arena size in floats): the largest
    buffers are placed first, each at the lowest offset free of every placed buffer whose step range
    overlaps its own."""
    offsets = [0] * len(buffers)
    placed = []  # (offset, end, first, last)
    for i in sorted(range(len(buffers)), key=lambda i: (-buffers[i][0], buffers[i][1], i)):
        size, first, last = buffers[i]
        size = _aligned(max(size, 1))
        busy = sorted((off, end) for off, end, f, l in placed if f <= last and first <= l)
        offset = 0
        for off, end in busy:
            if offset + size <= off:
                break
            offset = max(offset, end)
        offsets[i] = offset
        placed.append((offset, offset + size, first, last))
    return offsets, max([end for _, end, _, _ in placed], default=0)
