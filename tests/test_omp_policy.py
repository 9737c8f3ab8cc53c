"""The OpenMP wait policy cnncore loads its runtime with (cnncore/_omp_policy.py): passive unless
the user chose one, set only while the runtime loads."""
import json

import pytest

from cnncore import _omp_policy as P
from test_config import run_python


@pytest.mark.parametrize("environ, expected", [
    ({}, "passive"),
    ({"CNNCORE_OMP_WAIT_POLICY": "active"}, "active"),
    ({"CNNCORE_OMP_WAIT_POLICY": " Passive "}, "passive"),
    ({"CNNCORE_OMP_WAIT_POLICY": "default"}, None),
    ({"OMP_WAIT_POLICY": "active"}, None),
    ({"GOMP_SPINCOUNT": "1000"}, None),
    ({"CNNCORE_OMP_WAIT_POLICY": "passive", "OMP_WAIT_POLICY": "active"}, None),  # the user's wins
    ({"OMP_WAIT_POLICY": ""}, "passive"),  # empty is unset
])
def test_chosen_policy(environ, expected):
    assert P.chosen_policy(environ) == expected


def test_bad_value_names_the_variable():
    with pytest.raises(ValueError, match="CNNCORE_OMP_WAIT_POLICY: expected one of passive, active, default, got 'spin'"):
        P.chosen_policy({"CNNCORE_OMP_WAIT_POLICY": "spin"})


@pytest.mark.parametrize("before", [None, "active"])
def test_runtime_loading_sets_the_variable_only_inside(monkeypatch, before):
    monkeypatch.delenv("CNNCORE_OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    if before is None:
        monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    else:
        monkeypatch.setenv("OMP_WAIT_POLICY", before)
    import os

    with P.runtime_loading():
        inside = os.environ.get("OMP_WAIT_POLICY")
    assert inside == (before or "passive")
    assert os.environ.get("OMP_WAIT_POLICY") == before


@pytest.mark.parametrize("env, expected", [
    ({}, "passive"),
    ({"CNNCORE_OMP_WAIT_POLICY": "active"}, "active"),
    ({"GOMP_SPINCOUNT": "5000"}, "the runtime's (OMP_WAIT_POLICY=unset, GOMP_SPINCOUNT=5000)"),
])
def test_import_reports_the_policy_and_leaves_the_environment(env, expected):
    code = ("import json, os, cnncore; print(json.dumps([cnncore.config()['omp_wait_policy'], "
            "os.environ.get('OMP_WAIT_POLICY'), float(cnncore.functional.relu(__import__('numpy').ones(70000,"
            " 'float32')).sum())]))")
    base = {"OMP_WAIT_POLICY": None, "GOMP_SPINCOUNT": None, "CNNCORE_OMP_WAIT_POLICY": None}
    out = run_python(code, **dict(base, **env))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [expected, None, 70000.0]


def test_runtime_already_loaded_reads_the_maps(tmp_path):
    maps = tmp_path / "maps"
    maps.write_text("7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libgomp.so.1.0.0\n")
    assert P.runtime_already_loaded(str(maps))
    maps.write_text("7f00-7f01 r-xp 0 08:01 1 /usr/lib/libc.so.6\n")
    assert not P.runtime_already_loaded(str(maps))
    assert not P.runtime_already_loaded(str(tmp_path / "missing"))
