"""README's "Supported layers" table names every layer class cnncore.nn exports."""
import inspect
import os
import re

import cnncore.nn as nn

README = os.path.join(os.path.dirname(__file__), os.pardir, "README.md")


def test_supported_layers_table_lists_every_nn_layer():
    with open(README) as f:
        text = f.read()
    section = text.split("## Supported layers", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    named = set(re.findall(r"`(?:nn\.)?([A-Z]\w*)`", "\n".join(rows)))
    layers = {n for n in nn.__all__ if inspect.isclass(getattr(nn, n)) and issubclass(getattr(nn, n), nn.Module)
              and n != "Module"}
    assert layers - named == set(), "layers missing from README's Supported layers: %s" % sorted(layers - named)
