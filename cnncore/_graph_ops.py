"""Graph node attributes (cnncore.trace's schema, ONNX names) -> cnncore.functional arguments,
for the ops whose mapping is more than a rename; shared by GraphModule (cnncore.onnx) and the
compiled plans' Python fallback, so that both run a node the same way."""

# ONNX Pad's modes -> functional.pad's
PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


def pad_args(attrs):
    """(pad (left, right, top, bottom), mode, value) for functional.pad, or ValueError for pads
    beyond the last two axes of a 4-d input or a mode cnncore lacks."""
    pads, mode = list(attrs["pads"]), attrs.get("mode", "constant")
    if mode not in PAD_MODES:
        raise ValueError("Pad mode %r (expected one of %s)" % (mode, sorted(PAD_MODES)))
    if len(pads) != 8 or any(pads[k] for k in (0, 1, 4, 5)):
        raise ValueError("Pad with pads %s beyond the last two axes of a 4-d input" % (pads,))
    t, l, b, r = pads[2], pads[3], pads[6], pads[7]
    value = float(attrs.get("value", 0.0)) if mode == "constant" else None
    return (l, r, t, b), PAD_MODES[mode], value


# (mode, coordinate_transformation_mode, nearest_mode) -> (interpolate's mode, align_corners)
_RESIZE_MODES = {
    ("nearest", "asymmetric", "floor"): ("nearest", None),
    ("nearest", "half_pixel", "round_prefer_ceil"): ("nearest-exact", None),
    ("nearest", "pytorch_half_pixel", "round_prefer_ceil"): ("nearest-exact", None),
    ("linear", "pytorch_half_pixel", None): ("bilinear", False),
    ("linear", "half_pixel", None): ("bilinear", False),
    ("linear", "align_corners", None): ("bilinear", True),
}


def interpolate_kwargs(attrs):
    """functional.interpolate's keyword arguments for a Resize node (attrs: mode,
    coordinate_transformation_mode, nearest_mode and scales or sizes, full-rank), or ValueError
    naming what cnncore's interpolation does not do (cubic, other coordinate modes, resizing N
    or C)."""
    mode = attrs.get("mode", "nearest")
    coord = attrs.get("coordinate_transformation_mode", "half_pixel")
    nearest = attrs.get("nearest_mode", "round_prefer_floor") if mode == "nearest" else None
    found = _RESIZE_MODES.get((mode, coord, nearest))
    if found is None:
        raise ValueError("Resize with mode=%r, coordinate_transformation_mode=%r%s (cnncore interpolates "
                         "nearest as PyTorch's 'nearest' (asymmetric, floor) or 'nearest-exact' (half_pixel, "
                         "round_prefer_ceil), and linear with half_pixel, pytorch_half_pixel or align_corners)"
                         % (mode, coord, "" if nearest is None else ", nearest_mode=%r" % nearest))
    kind, align = found
    if "scales" in attrs:
        sc = [float(v) for v in attrs["scales"]]
        if len(sc) != 4 or sc[:2] != [1.0, 1.0]:
            raise ValueError("Resize with scales %s (expected [1, 1, scale_h, scale_w])" % (sc,))
        return {"scale_factor": (sc[2], sc[3]), "mode": kind, "align_corners": align}
    sizes = [int(v) for v in attrs["sizes"]]
    if len(sizes) != 4:
        raise ValueError("Resize with sizes %s (expected 4: N, C, H, W)" % (sizes,))
    return {"size": (sizes[2], sizes[3]), "mode": kind, "align_corners": align}
