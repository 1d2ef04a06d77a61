"""Audit and repair of plain models on Lake Mendota: density inversions before and after.

A plain ``HistGradientBoostingRegressor`` and a plain neural network (drivers + depth,
no physics; the NN of ``benchmarks/lake_pgnn.py``) are trained on the first N rows by date (default 1000) of
``../shared/data/lake/mendota_pgnn_table.csv`` and audited on the rest against
``examples/lake.toml`` (density must not decrease with depth on one date). Each is then
wrapped in ``ConsistentRegressor`` with the isotonic density repair, which must bring
inversions to 0 while the test RMSE rises by no more than 1% (or falls).

Reference: the physics model (General Lake Model) has density inversions in 0.38% of
consecutive-depth pairs; the observations have none (../shared/data/README.md).

Run:  python benchmarks/lake_refine.py [--n-train 1000] [--seeds 0 1 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import make_pipeline

from tgds import Theory
from tgds.refine import ConsistentRegressor, IsotonicProjection, audit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lake_pgnn import make_model  # noqa: E402
from lake_pgnn import parse_args as lake_pgnn_settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "lake" / "mendota_pgnn_table.csv"
DRIVERS = ["doy", "growing_deg_days", "Depth", "ShortWave", "LongWave", "AirTemp", "freezing",
           "RelHum", "WindSpeed", "Rain", "Snow"]  # fmt: skip
TARGET = "Observed_temp"
CONSTRAINT = "density_increases_with_depth"


def models(seed: int) -> dict[str, object]:
    """A plain HGB on the drivers, and lake_pgnn.py's NN (same settings, no physics)."""
    theory = Theory.from_toml(ROOT / "examples" / "lake.toml")
    hgb = make_pipeline(
        ColumnTransformer([("drivers", "passthrough", DRIVERS)]),
        HistGradientBoostingRegressor(random_state=seed),
    )
    settings = lake_pgnn_settings([])  # lake_pgnn.py's defaults
    return {"HGB": hgb, "NN": make_model("NN", theory, settings, seed)}


def evaluate(theory: Theory, model: object, test: pd.DataFrame) -> dict[str, float]:
    report = audit(model, theory, test, y=test[TARGET], constraints=[CONSTRAINT])
    result = report[CONSTRAINT]
    return {"rmse": report.rmse, "inversion_rate": result.rate, "inversions": result.n_violations}


def run(args: argparse.Namespace) -> list[dict]:
    theory = Theory.from_toml(ROOT / "examples" / "lake.toml")
    df = pd.read_csv(args.data)
    train, test = df.iloc[: args.n_train], df.iloc[args.n_train :].reset_index(drop=True)
    case = f"N={args.n_train}"
    records: list[dict] = []
    physics = evaluate(theory, lambda X: X["Modeled_temp"].to_numpy(), test)
    for metric, unit in (("rmse", "degC"), ("inversion_rate", "fraction")):
        records.append(
            dict(
                case=case,
                model="physics",
                metric=metric,
                value=physics[metric],
                n=args.n_train,
                seed=None,
                unit=unit,
            )
        )
    for seed in args.seeds:
        for name, model in models(seed).items():
            start = time.perf_counter()
            model.fit(train, train[TARGET])
            fit_s = time.perf_counter() - start
            wrapped = ConsistentRegressor(
                model, theory, repairs=[IsotonicProjection(CONSTRAINT)], prefit=True
            ).fit()
            start = time.perf_counter()
            repaired = evaluate(theory, wrapped, test)
            repair_s = time.perf_counter() - start
            plain = evaluate(theory, model, test)
            for label, res in ((name, plain), (f"{name}+repair", repaired)):
                for metric, unit in (("rmse", "degC"), ("inversion_rate", "fraction")):
                    records.append(
                        dict(
                            case=case,
                            model=label,
                            metric=metric,
                            value=float(res[metric]),
                            n=args.n_train,
                            seed=seed,
                            unit=unit,
                        )
                    )
            records.append(
                dict(
                    case=case,
                    model=name,
                    metric="wall_s",
                    value=fit_s,
                    n=args.n_train,
                    seed=seed,
                    unit="s",
                )
            )
            records.append(
                dict(
                    case=case,
                    model=f"{name}+repair",
                    metric="repair_wall_s",
                    value=repair_s,
                    n=args.n_train,
                    seed=seed,
                    unit="s",
                )
            )
    return records


def table(records: list[dict]) -> tuple[str, bool]:
    frame = pd.DataFrame(records)
    pivot = frame.pivot_table(index="model", columns="metric", values="value", aggfunc="mean")
    lines = [f"{'model':<14} {'rmse':>8} {'inversions %':>13} {'fit/repair s':>13}"]
    ok = True
    for model in ["physics", "HGB", "HGB+repair", "NN", "NN+repair"]:
        if model not in pivot.index:
            continue
        row = pivot.loc[model]
        wall = row["repair_wall_s"] if model.endswith("+repair") else row.get("wall_s", np.nan)
        lines.append(
            f"{model:<14} {row['rmse']:>8.3f} {100 * row['inversion_rate']:>13.3f} {wall:>13.2f}"
        )
    lines.append("")
    for name in ("HGB", "NN"):
        if name not in pivot.index:
            continue
        before, after = pivot.loc[name], pivot.loc[f"{name}+repair"]
        change = after["rmse"] / before["rmse"] - 1
        found = before["inversion_rate"] > 0
        zero = after["inversion_rate"] == 0
        within = change <= 0.01
        ok &= bool(found and zero and within)
        lines.append(
            f"{name}: audit finds inversions ({100 * before['inversion_rate']:.2f}%): {'PASS' if found else 'FAIL'}; "
            f"repaired inversions = 0: {'PASS' if zero else 'FAIL'}; "
            f"RMSE change {100 * change:+.2f}% (<= +1%): {'PASS' if within else 'FAIL'}"
        )
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", type=Path, default=None, help="write the figures as JSON records")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"skipped: the lake data {args.data} is absent (see ../shared/data/README.md)")
        return 0
    records = run(args)
    text, ok = table(records)
    print(
        f"Lake Mendota, train on the first {args.n_train} rows, test on the rest; means over seeds {args.seeds}"
    )
    print(text)
    if args.json:
        args.json.write_text(json.dumps(records, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
