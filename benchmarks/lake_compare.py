"""compare() on Lake Mendota with blocked time folds: physics model, NN, HPD and PGNN.

Every model is trained and tested on the same forward-chaining folds in time
(``BlockedTimeSplit`` on ``DateTime``: fold k trains on all dates before its test block;
one date's profile never straddles train and test) and ranked on accuracy (RMSE),
consistency (the audit score against ``examples/lake.toml``: density must not decrease
with depth on a date, temperatures within liquid-water bounds) and simplicity
(trainable parameters; 0 for the physics model, whose output is given). The issue asks
that the ranking put a physics-guided model first on consistency.

The neural models use the settings of ``benchmarks/lake_pgnn.py`` (its docstring says how
they were chosen); PGNN's physics points are all rows' inputs without labels.
``PGNN+repair`` is PGNN wrapped in ``ConsistentRegressor`` with the isotonic density repair.

Run:  python benchmarks/lake_compare.py [--n-splits 3] [--epochs 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lake_pgnn import DEFAULT_DATA, DRIVERS, PHYSICS, TARGET, THEORY, load, make_model  # noqa: E402
from lake_pgnn import parse_args as lake_pgnn_settings  # noqa: E402

from tgds import Theory  # noqa: E402
from tgds.models import PhysicsModelRegressor  # noqa: E402
from tgds.refine import ConsistentRegressor, IsotonicProjection  # noqa: E402
from tgds.selection import BlockedTimeSplit, compare  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--n-splits", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"skipped: the lake data {args.data} is absent (see ../shared/data/README.md)")
        return 0
    theory = Theory.from_toml(THEORY)
    data = load(args.data)
    # lake_pgnn.py's defaults, its PGNN warm-up (half the epochs, then a quarter of ramp)
    # scaled to these epochs
    e = args.epochs
    settings = lake_pgnn_settings(
        ["--epochs", str(e), "--physics-warmup", str(e // 2), "--physics-ramp", str(e // 4)]
    )
    models = {"physics": PhysicsModelRegressor(theory=theory)}
    models.update(
        {name: make_model(name, theory, settings, args.seed) for name in ("NN", "HPD", "PGNN")}
    )
    models["PGNN+repair"] = ConsistentRegressor(
        models["PGNN"], theory, repairs=[IsotonicProjection()]
    )
    unlabeled = data[[*DRIVERS, "Depth", PHYSICS, "DateTime"]]
    start = time.perf_counter()
    result = compare(
        models, data, data[TARGET], theory, BlockedTimeSplit(args.n_splits, time="DateTime"),
        fit_params={"PGNN": {"X_unlabeled": unlabeled}, "PGNN+repair": {"X_unlabeled": unlabeled}},
    )  # fmt: skip
    wall = time.perf_counter() - start
    print(
        f"Lake Mendota, {args.n_splits} blocked time folds on DateTime ({len(data)} rows), {wall:.0f} s"
    )
    print(result)
    first = result.first_on("consistency")
    ok = first in ("PGNN", "PGNN+repair", "physics")
    print(f"\nfirst on consistency: {first} ({'PASS' if ok else 'FAIL'}: a physics-guided model)")
    print(f"first overall: {result.best}; first on accuracy: {result.first_on('accuracy')}")
    if args.json:
        columns = (("rmse", "rmse", "degC"), ("consistency", "consistency", "score"),
                   ("violation_rate", "violation_rate", "fraction"), ("complexity", "complexity", "parameters"),
                   ("wall_s", "fit_s", "s"))  # fmt: skip
        records = [
            {"case": f"blocked_time_{args.n_splits}_fold{int(row['fold'])}", "model": row["model"], "metric": metric,
             "value": float(row[column]), "n": int(row["n_test"]), "seed": args.seed, "unit": unit}
            for _, row in result.folds.iterrows()
            for metric, column, unit in columns
        ]  # fmt: skip
        args.json.write_text(json.dumps(records, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
