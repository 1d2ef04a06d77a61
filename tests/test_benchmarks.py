"""The benchmarks' JSON output: flat records with the agreed keys (a tiny budget, real data)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAKE = ROOT.parent / "shared" / "data" / "lake" / "mendota_pgnn_table.csv"


def _benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not LAKE.is_file(), reason=f"the real lake data ({LAKE}) are absent")
def test_lake_pgnn_json_records_and_paired_differences(tmp_path, capsys):
    bench = _benchmark("lake_pgnn")
    out = tmp_path / "lake.json"
    argv = ["--sizes", "100", "--seeds", "0", "1", "--epochs", "4", "--physics-warmup", "1"]
    argv += ["--physics-ramp", "1", "--json", str(out)]
    assert bench.main(argv) == 0
    records = json.loads(out.read_text())
    for r in records:
        assert {"case", "model", "metric", "value", "n", "seed", "unit"} <= set(r), r
        assert r["metric"] == r["metric"].lower() and r["case"] == "N=100"
    rmse = {
        (r["model"], r["seed"]): r["value"]
        for r in records
        if r["metric"] == "rmse" and r["seed"] is not None
    }
    assert {m for m, _ in rmse} == {"NN", "HPD", "PGNN"}
    diffs = {r["model"]: r for r in records if r["metric"] == "rmse_diff"}
    assert set(diffs) == {"PGNN-NN", "PGNN-HPD"}
    for other in ("NN", "HPD"):
        d = [rmse["PGNN", s] - rmse[other, s] for s in (0, 1)]
        assert diffs[f"PGNN-{other}"]["value"] == pytest.approx(sum(d) / 2)
        # the standard error of a mean of two differences is half their spread
        assert diffs[f"PGNN-{other}"]["se"] == pytest.approx(abs(d[0] - d[1]) / 2)
    printed = capsys.readouterr().out
    assert "paired by seed" in printed and "PGNN-NN" in printed
    assert all(math.isfinite(r["value"]) for r in records)
