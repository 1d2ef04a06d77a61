"""Reading a run folder and drawing its figures (matplotlib, no global state).

Every figure is a :class:`matplotlib.figure.Figure` made directly (not through
``pyplot``), so nothing here switches backends or keeps figures alive. A model keeps
the same colour in every figure; units come from the run's theory.

The run folder is described in ``docs/runs.md``; a unit folder counts when its
``metrics.json`` exists, and the model name and fold are read from that file (the
folder name is only a location).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from tgds._validation import Int
from tgds.exceptions import TgdsError, TheoryError
from tgds.runs._store import (
    RunError,
    RunFolder,
    read_run_csv,
    read_run_json,
    read_run_toml,
    read_summary,
)
from tgds.theory import Monotonic, Theory, UnitInfo, parse_unit
from tgds.theory._units import offset_scale

__all__ = ["Panel", "RunData", "Unit", "figures", "load_run", "panels"]

WIDTH = 7.5
DPI = 110
_RESERVED = {"row", "observed", "predicted", "model", "fold"}
_BLACK = "#222222"


# -- reading the run folder ------------------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    """One model fitted on one fold: its metrics, test predictions and training history."""

    model: str
    fold: int
    path: Path
    metrics: dict[str, Any]
    predictions: pd.DataFrame | None
    history: dict[str, list[float]] | None


@dataclass(frozen=True)
class RunData:
    """Everything the report reads from a run folder; missing files are ``None``/empty."""

    path: Path
    run_id: str
    experiment: dict[str, Any]
    status: dict[str, Any]
    theory: Theory | None
    data_card: dict[str, Any] | None
    summary: pd.DataFrame | None
    units: tuple[Unit, ...]
    models: tuple[str, ...]
    colours: dict[str, str] = field(default_factory=dict)
    #: parts of the run folder not read, and why (symbolic links are not followed)
    skipped: tuple[str, ...] = ()

    @cached_property
    def predictions(self) -> pd.DataFrame:
        """All units' test predictions, with ``model`` and ``fold`` columns (may be empty)."""
        frames = [
            u.predictions.assign(model=u.model, fold=u.fold)
            for u in self.units
            if u.predictions is not None
        ]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _linked(path: Path, run: Path, skipped: list[str]) -> bool:
    """Whether ``path`` is a symbolic link, which is not followed (it could name any file
    outside the run folder); noted in ``skipped``."""
    if not path.is_symlink():
        return False
    try:
        name = path.relative_to(run).as_posix()
    except ValueError:
        name = str(path)
    skipped.append(f"{name} is a symbolic link; not read.")
    return True


def _read_json(path: Path) -> Any:
    """The file's JSON value; ``None`` when absent, a RunError naming it when damaged."""
    return read_run_json(path) if path.is_file() else None


def _read_status(path: Path) -> dict[str, Any]:
    """The run's status as ``tgds runs show`` gives it: a run whose process died while
    running reads ``incomplete``, not ``running``. Empty when absent or unreadable."""
    try:
        return RunFolder(path).status()
    except RunError:
        return {}


def _read_theory(path: Path) -> Theory | None:
    """The run's theory; ``None`` when the file is absent or unreadable (the report says so)."""
    if not path.is_file():
        return None
    try:
        return Theory.from_toml(path)
    except (TgdsError, ValueError):  # TOMLDecodeError is a ValueError
        return None


def _read_experiment(path: Path) -> dict[str, Any]:
    return read_run_toml(path) if path.is_file() else {}


def _read_summary(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    frame = read_summary(path)
    key = "model" if "model" in frame.columns else frame.columns[0]
    return frame.set_index(key).rename_axis("model")


def _read_predictions(path: Path) -> pd.DataFrame:
    """A unit's ``predictions.csv``; a RunError naming it when it is not a CSV table."""
    return read_run_csv(path, "a CSV table of predictions (row, observed, predicted, ...)")


def _fold(value: Any, path: Path) -> int:
    if Int(0).test(value):
        return value
    raise _corrupt_key(path, "fold", "a fold number (an integer from 0)", value)


def _read_history(path: Path) -> dict[str, list[float]] | None:
    """A neural unit's ``history.json`` (``None`` when absent or not a history): per-epoch
    lists of numbers (``null`` for a value not recorded), none longer than ``epoch``; a
    RunError naming the file otherwise."""
    history = _read_json(path)
    if not isinstance(history, dict) or "epoch" not in history:
        return None
    epochs = _numbers(history["epoch"])
    if epochs is None:
        raise _corrupt_key(path, "epoch", "a list of epoch numbers", history["epoch"])
    out = {}
    for key, values in history.items():
        out[key] = epochs if key == "epoch" else _numbers(values)
        if out[key] is None or len(out[key]) > len(epochs):
            expected = f"a list of at most {len(epochs)} numbers (one per epoch, as 'epoch' has)"
            raise _corrupt_key(path, key, expected, values)
    return out


def _corrupt_key(path: Path, key: str, expected: str, found: Any) -> RunError:
    return RunError(
        f"run file '{path}' is corrupt: expected key {key!r} to be {expected}; found {found!r:.40}."
    )


def _numbers(values: Any) -> list[float] | None:
    """The list's values as floats (``null`` as NaN); ``None`` when it is not such a list."""
    if not isinstance(values, list):
        return None
    out = []
    for v in values:
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            return None
        try:
            out.append(math.nan if v is None else float(v))
        except OverflowError:  # an integer of hundreds of digits
            return None
    return out


def _read_unit(path: Path, run: Path, skipped: list[str]) -> Unit | None:
    files = {name: path / name for name in ("metrics.json", "predictions.csv", "history.json")}
    if _linked(path, run, skipped) or _linked(files["metrics.json"], run, skipped):
        return None
    metrics = _read_json(files["metrics.json"])
    if not isinstance(metrics, dict):
        return None
    preds_path = files["predictions.csv"]
    preds = None
    if not _linked(preds_path, run, skipped) and preds_path.is_file():
        preds = _read_predictions(preds_path)
    history_path = files["history.json"]
    history = None if _linked(history_path, run, skipped) else _read_history(history_path)
    return Unit(
        model=str(metrics.get("model", path.name.rsplit("__fold", 1)[0])),
        fold=_fold(metrics.get("fold", 0), files["metrics.json"]),
        path=path,
        metrics=metrics,
        predictions=preds,
        history=history,
    )


def _model_order(summary: pd.DataFrame | None, units: list[Unit]) -> tuple[str, ...]:
    order = [] if summary is None else list(summary.index)
    order += [u.model for u in units if u.model not in order]
    return tuple(dict.fromkeys(order))


def model_colours(models: tuple[str, ...]) -> dict[str, str]:
    """A fixed colour per model (tab10, then tab20), in the order given."""
    palette = list(colormaps["tab10"].colors) + list(colormaps["tab20"].colors[1::2])
    hexes = ["#{:02x}{:02x}{:02x}".format(*(round(255 * c) for c in rgb[:3])) for rgb in palette]
    return {m: hexes[k % len(hexes)] for k, m in enumerate(models)}


def load_run(run_dir: str | Path) -> RunData:
    """Read a run folder (see ``docs/runs.md``); absent optional files are left empty.

    Parameters
    ----------
    run_dir : str or Path
        The run folder ``runs/<YYYYmmdd-HHMMSS>-<name>-<4 hex>/``.

    Returns
    -------
    RunData

    Raises
    ------
    FileNotFoundError
        When the folder does not exist.
    RunError
        When one of its JSON, TOML or CSV files is damaged, a unit's ``fold`` is not
        a fold number, or its ``history.json`` does not hold lists of numbers, one per
        epoch (the message names the file); a damaged ``status.json`` or ``theory.toml``
        is shown as unknown or unreadable.

    Notes
    -----
    Symbolic links inside the run folder (a unit folder, ``predictions.csv``,
    ``summary.csv``...) are not followed: a run folder from someone else could link to
    any file. They are read as absent and listed in ``RunData.skipped``.
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"run folder {str(path)!r} does not exist.")
    skipped: list[str] = []

    def own(name: str) -> Path | None:  # a file of the run folder, never through a link
        file = path / name
        return None if _linked(file, path, skipped) else file

    summary_file = own("summary.csv")
    summary = _read_summary(summary_file) if summary_file else None
    units_dir = own("units")
    found = [
        _read_unit(p, path, skipped)
        for p in (sorted(units_dir.glob("*")) if units_dir else [])
        if p.is_dir()
    ]
    units = [u for u in found if u is not None]
    models = _model_order(summary, units)
    units.sort(key=lambda u: (models.index(u.model), u.fold))
    experiment_file, theory_file, card_file = (
        own("experiment.toml"),
        own("theory.toml"),
        own("data_card.json"),
    )
    return RunData(
        path=path,
        run_id=path.name,
        experiment=_read_experiment(experiment_file) if experiment_file else {},
        status={} if _linked(path / "status.json", path, skipped) else _read_status(path),
        theory=_read_theory(theory_file) if theory_file else None,
        data_card=_read_json(card_file) if card_file else None,
        summary=summary,
        units=tuple(units),
        models=models,
        colours=model_colours(models),
        skipped=tuple(skipped),
    )


# -- labels ----------------------------------------------------------------------------------
def printable(text: object) -> str:
    """``str(text)`` with lone surrogates written as ``\\ud800``: JSON may hold them (and a
    folder name that is not UTF-8 decodes to them), but neither UTF-8 nor a font can."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")


def mpl_text(text: object) -> str:
    """Text safe for matplotlib: no mathtext, and not hidden from legends by a leading ``_``."""
    out = printable(text).replace("$", r"\$")
    return " " + out if out.startswith("_") else out


def pretty_unit(unit: str) -> str:
    """``"W/m^2"`` -> ``"W/m²"``, ``"degC"`` -> ``"°C"``; ``""`` for dimensionless.

    The text is read by :func:`tgds.theory.parse_unit`, which refuses what pint would
    take ages over (``m**9**9**9``); a text it refuses is shown as written.

    Examples
    --------
    >>> pretty_unit("kg/m^3"), pretty_unit("delta_degC"), pretty_unit("1")
    ('kg/m³', 'Δ°C', '')
    """
    try:
        return _pretty(parse_unit(unit))
    except TheoryError:
        return str(unit)


def _pretty(info: UnitInfo) -> str:
    # an offset temperature is carried as its delta unit: show the scale (°C), not Δ°C
    return f"{offset_scale(info.unit) if info.offset else info.unit:~P}"


def unit_text(theory: Theory | None, name: str) -> str:
    """The unit of a variable, parameter or relation of the theory, for display (``""`` if none)."""
    if theory is None or name not in theory.names:
        return ""
    try:
        return _pretty(theory.unit_of(name))
    except TgdsError:
        return ""


def axis_label(theory: Theory | None, name: str, prefix: str = "") -> str:
    """``"Depth (m)"``: the name with its unit from the theory (relations included)."""
    unit = unit_text(theory, name)
    label = f"{prefix}{name}".strip()
    return mpl_text(f"{label} ({unit})" if unit else label)


def is_depth(name: str) -> bool:
    """Whether a variable is named like a depth (drawn downwards, limnology style)."""
    return "depth" in name.lower()


# -- shared helpers --------------------------------------------------------------------------
def target_pairs(columns: pd.Index) -> list[tuple[str | None, str, str]]:
    """``(target or None, observed column, predicted column)`` for each predicted target."""
    if "observed" in columns and "predicted" in columns:
        return [(None, "observed", "predicted")]
    out = []
    for col in columns:
        if col.startswith("observed:") and f"predicted:{col[9:]}" in columns:
            out.append((col[9:], col, f"predicted:{col[9:]}"))
    return out


def key_columns(preds: pd.DataFrame) -> list[str]:
    """The key columns of the predictions: time, group and ``wrt`` variables."""
    return [
        c
        for c in preds.columns
        if c not in _RESERVED
        and not c.startswith(("observed:", "predicted:"))
        and preds[c].notna().any()
    ]


def as_dates(values: pd.Series) -> pd.Series | None:
    """The values as datetimes when every non-missing one is an ISO date; else ``None``."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    parsed = pd.to_datetime(values, format="ISO8601", errors="coerce")
    return parsed if parsed.notna().sum() == values.notna().sum() else None


def _grid(n: int, row_height: float = 2.9, max_cols: int = 3) -> tuple[Figure, list[Any]]:
    ncols = min(n, max_cols)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(WIDTH, 0.9 + row_height * nrows), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _target_label(theory: Theory | None, target: str | None) -> str:
    if target is not None:
        return target
    targets = theory.targets if theory is not None else ()
    return targets[0] if targets else "target"


def _rmse(obs: np.ndarray, pred: np.ndarray) -> float:
    ok = np.isfinite(obs) & np.isfinite(pred)
    return float(np.sqrt(np.mean((pred[ok] - obs[ok]) ** 2))) if ok.any() else math.nan


# -- figures ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Panel:
    """A figure of the report with its section, name and caption."""

    section: str
    name: str
    figure: Figure
    caption: str


def learning_curves(run: RunData) -> Figure | None:
    """Every loss term against the epoch, one panel per neural model (its last fold)."""
    last: dict[str, Unit] = {}
    for u in run.units:
        if u.history is not None:
            last[u.model] = u  # units are sorted by fold
    if not last:
        return None
    fig, axes = _grid(len(last), row_height=3.0, max_cols=2)
    terms = sorted({k for u in last.values() for k in _loss_keys(u.history)}, key=_term_order)
    base = [t for t in terms if not t.startswith("val_")]
    term_colour = {t: colormaps["Dark2"](k % 8) for k, t in enumerate(base)}
    for ax, unit in zip(axes, last.values(), strict=True):
        _draw_history(ax, unit.history, term_colour)
        ax.set_title(mpl_text(f"{unit.model} (fold {unit.fold})"), color=run.colours[unit.model])
    return fig


def _loss_keys(history: dict[str, list[float]]) -> list[str]:
    # the warm-up schedule (0..1) and the adaptive weights are not losses
    return [k for k in history if k not in ("epoch", "schedule") and not k.startswith("lambda/")]


def _term_order(name: str) -> tuple[int, str]:
    rank = {"loss": 0, "data": 1}.get(name.removeprefix("val_"), 2)
    return (rank, name)


def _draw_history(ax: Any, history: dict[str, list[float]], colour: dict[str, Any]) -> None:
    epochs = np.asarray(history["epoch"], dtype=float)
    for key in sorted(_loss_keys(history), key=_term_order):
        values = np.asarray(history[key], dtype=float)
        values = np.where(values > 0, values, np.nan)
        base = key.removeprefix("val_")
        style = {"ls": "--"} if key.startswith("val_") else {}
        col = _BLACK if base == "loss" else colour.get(base, colour.get(key, "grey"))
        ax.plot(epochs[: len(values)], values, color=col, lw=1.4, label=mpl_text(key), **style)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (scaled units)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="x-small", ncols=1)


def _predicted_models(run: RunData) -> list[str]:
    """The run's models that have test predictions, in the run's order."""
    present = set(run.predictions.get("model", ()))
    return [m for m in run.models if m in present]


def parity(run: RunData, target: str | None, obs: str, pred: str) -> Figure | None:
    """Observed against predicted, one panel per model, every fold's test rows."""
    preds = run.predictions
    models = _predicted_models(run)
    if not models:
        return None
    name = _target_label(run.theory, target)
    unit = unit_text(run.theory, name)
    values = preds[[obs, pred]].to_numpy(dtype=float)
    values = values[np.isfinite(values)]  # NaN or infinite predictions are not drawn
    lo, hi = (values.min(), values.max()) if values.size else (0.0, 1.0)
    pad = 0.04 * (hi - lo or 1.0)
    lims = (lo - pad, hi + pad)
    fig, axes = _grid(len(models), row_height=2.7)
    for ax, model in zip(axes, models, strict=True):
        part = preds[preds["model"] == model]
        o, p = part[obs].to_numpy(float), part[pred].to_numpy(float)
        ax.plot(lims, lims, color="grey", lw=1, ls="--", label="1:1")
        ax.scatter(o, p, s=7, alpha=0.45, color=run.colours[model], edgecolors="none")
        ax.set(xlim=lims, ylim=lims, aspect="equal")
        ax.set_title(mpl_text(f"{model}\nRMSE {_rmse(o, p):.3g} {unit}".rstrip()), fontsize=10)
        ax.set_xlabel(axis_label(run.theory, name, "observed "), fontsize=9)
        ax.set_ylabel(axis_label(run.theory, name, "predicted "), fontsize=9)
        ax.grid(True, alpha=0.3)
    return fig


def residuals(run: RunData, column: str, obs: str, pred: str, target: str | None) -> Figure | None:
    """Residual (predicted - observed) against one key column, one panel per model."""
    preds = run.predictions
    models = _predicted_models(run)
    if not models or column not in preds:
        return None
    x, kind = _axis_values(preds[column])
    if x is None:
        return None
    name = _target_label(run.theory, target)
    unit = unit_text(run.theory, name)
    rlabel = mpl_text(f"residual ({unit})" if unit else "residual")
    residual = (preds[pred] - preds[obs]).to_numpy(float)
    fig, axes = _grid(len(models), row_height=2.5)
    for ax, model in zip(axes, models, strict=True):
        mask = (preds["model"] == model).to_numpy()
        _draw_residuals(ax, x[mask], residual[mask], kind, run.colours[model])
        ax.set_title(mpl_text(model), fontsize=10, color=run.colours[model])
        _label_residual_axes(ax, run.theory, column, kind, preds[column], rlabel)
    return fig


def _axis_values(values: pd.Series) -> tuple[np.ndarray | None, str]:
    dates = as_dates(values)
    if dates is not None:
        return dates.to_numpy(dtype="datetime64[ns]"), "date"
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=float), "depth" if is_depth(str(values.name)) else "number"
    codes, uniques = pd.factorize(values, sort=True)
    if len(uniques) > 40:
        return None, "skip"
    return np.where(codes < 0, np.nan, codes).astype(float), "category"


def _draw_residuals(ax: Any, x: np.ndarray, r: np.ndarray, kind: str, colour: str) -> None:
    bx, br = _binned_mean(x, r)
    if kind == "depth":
        ax.axvline(0, color="grey", lw=1)
        ax.scatter(r, x, s=6, alpha=0.3, color=colour, edgecolors="none")
        ax.plot(br, bx, color=_BLACK, lw=1.3, label="mean")
        ax.invert_yaxis()
    else:
        ax.axhline(0, color="grey", lw=1)
        ax.scatter(x, r, s=6, alpha=0.3, color=colour, edgecolors="none")
        ax.plot(bx, br, color=_BLACK, lw=1.3, label="mean")
    ax.grid(True, alpha=0.3)


def _binned_mean(x: np.ndarray, r: np.ndarray, n_bins: int = 24) -> tuple[np.ndarray, np.ndarray]:
    is_date = np.issubdtype(x.dtype, np.datetime64)
    xn = x.astype("datetime64[ns]").astype(np.int64).astype(float) if is_date else x
    ok = np.isfinite(xn) & np.isfinite(r)
    if not ok.any():
        return x[:0], r[:0]
    uniq = np.unique(xn[ok])
    edges = uniq if len(uniq) <= n_bins else np.linspace(uniq[0], uniq[-1], n_bins + 1)
    idx = np.clip(np.searchsorted(edges, xn[ok], side="right") - 1, 0, len(edges) - 1)
    sums = np.bincount(idx, r[ok], minlength=len(edges))
    counts = np.bincount(idx, minlength=len(edges))
    centres = edges if len(uniq) <= n_bins else np.append(0.5 * (edges[:-1] + edges[1:]), edges[-1])
    keep = counts > 0
    bx, br = centres[keep], sums[keep] / counts[keep]
    return (bx.astype(np.int64).astype("datetime64[ns]") if is_date else bx), br


def _label_residual_axes(
    ax: Any, theory: Theory | None, column: str, kind: str, values: pd.Series, rlabel: str
) -> None:
    if kind == "depth":
        ax.set_ylabel(axis_label(theory, column), fontsize=9)
        ax.set_xlabel(rlabel, fontsize=9)
        return
    ax.set_ylabel(rlabel, fontsize=9)
    ax.set_xlabel(axis_label(theory, column), fontsize=9)
    if kind == "date":
        locator = AutoDateLocator(maxticks=5)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    elif kind == "category":
        uniques = sorted(values.dropna().unique(), key=str)
        ax.set_xticks(range(len(uniques)), [mpl_text(u) for u in uniques], rotation=60, fontsize=7)


def violation_table(run: RunData) -> pd.DataFrame:
    """Violation rate per model and constraint, averaged over folds (model x constraint).

    A rate that no fold recorded (e.g. every fold of the model failed) is NaN; every
    audited model and constraint keeps its row and column.
    """
    rows = [
        {"model": u.model, "constraint": str(rec.get("constraint", "?")), "rate": rec.get("rate")}
        for u in run.units
        for rec in u.metrics.get("audit") or []
        if isinstance(rec, dict)
    ]
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    frame["rate"] = pd.to_numeric(frame["rate"], errors="coerce")
    # not pivot_table: it drops the rows and columns that hold only NaN
    table = frame.groupby(["model", "constraint"], sort=False)["rate"].mean().unstack()
    order = [m for m in run.models if m in table.index]
    return table.reindex(index=order, columns=list(dict.fromkeys(frame["constraint"])))


def violations(run: RunData) -> Figure | None:
    """Grouped horizontal bars: violation rate (%) per constraint, one bar per model."""
    table = violation_table(run)
    if table.empty:
        return None
    n_c, n_m = table.shape[1], table.shape[0]
    bar = 0.8 / n_m
    height = 1.5 + 0.22 * n_c * n_m + 0.2 * n_c
    fig = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    y = np.arange(n_c)
    for k, model in enumerate(table.index):
        pos = y - 0.4 + bar * (k + 0.5)
        rates = 100 * table.loc[model].to_numpy(float)
        bars = ax.barh(pos, np.nan_to_num(rates), bar, color=run.colours[model])
        bars.set_label(mpl_text(model))
        labels = [f"{v:.3g}%" if np.isfinite(v) else "n/a" for v in rates]  # not 1e+02%
        ax.bar_label(bars, labels, padding=2, fontsize=7)
    ax.set_yticks(y, [mpl_text(c) for c in table.columns], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("violation rate (% of checks, mean over folds)")
    rates = 100 * table.to_numpy(float)
    top = float(np.nanmax(rates)) if np.isfinite(rates).any() else 0.0
    ax.set_xlim(0, max(1.0, top) * 1.18)
    ax.grid(True, axis="x", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=min(5, n_m), fontsize="small")
    return fig


def profile_constraints(run: RunData) -> list[Monotonic]:
    """Monotonic constraints with ``within`` whose columns are in the predictions."""
    if run.theory is None:
        return []
    cols = set(run.predictions.columns)
    return [
        c
        for c in run.theory.constraints
        if isinstance(c, Monotonic) and c.within and {c.wrt, *c.within} <= cols
    ]


def profiles(run: RunData, constraint: Monotonic, n_groups: int = 4) -> Figure | None:
    """Target against ``wrt`` for a few groups: observed points and each model's line."""
    preds = run.predictions
    pairs = target_pairs(preds.columns)
    if not pairs:
        return None
    target, obs, pred = pairs[0]
    within = list(constraint.within or ())
    chosen = _pick_groups(preds, within, constraint.wrt, n_groups)
    if not chosen:
        return None
    name = _target_label(run.theory, target)
    fig = Figure(figsize=(WIDTH, 4.2), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(chosen), sharey=True, sharex=True, squeeze=False).ravel()
    depth = is_depth(constraint.wrt)
    for ax, key in zip(axes, chosen, strict=True):
        part = preds[(preds[within] == list(key)).all(axis=1)]
        _draw_profile(ax, run, part, constraint.wrt, obs, pred, depth)
        ax.set_title(mpl_text(", ".join(map(str, key))), fontsize=9)
        ax.grid(True, alpha=0.3)
    _label_profile(axes, run.theory, constraint.wrt, name, depth)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(5, len(labels)), fontsize=8)
    return fig


def _pick_groups(preds: pd.DataFrame, within: list[str], wrt: str, n: int) -> list[tuple]:
    """Up to ``n`` groups spread over their sorted order, each with 3+ distinct ``wrt`` values."""
    first = preds[preds["model"] == preds["model"].iloc[0]]
    spread = first.groupby(within, sort=True)[wrt].nunique()
    good = [k if isinstance(k, tuple) else (k,) for k, size in spread.items() if size >= 3]
    if not good:
        return []
    picks = np.unique(np.linspace(0, len(good) - 1, min(n, len(good))).round().astype(int))
    return [good[i] for i in picks]


def _draw_profile(
    ax: Any, run: RunData, part: pd.DataFrame, wrt: str, obs: str, pred: str, depth: bool
) -> None:
    first = part[part["model"] == part["model"].iloc[0]].sort_values(wrt)
    xy = (first[obs], first[wrt]) if depth else (first[wrt], first[obs])
    ax.scatter(*xy, s=16, color=_BLACK, zorder=3, label="observed")
    for model in run.models:
        m = part[part["model"] == model].sort_values(wrt)
        if m.empty:
            continue
        xy = (m[pred], m[wrt]) if depth else (m[wrt], m[pred])
        ax.plot(*xy, color=run.colours[model], lw=1.6, marker=".", ms=3, label=mpl_text(model))


def _label_profile(axes: Any, theory: Theory | None, wrt: str, name: str, depth: bool) -> None:
    if depth:
        axes[0].invert_yaxis()
        axes[0].set_ylabel(axis_label(theory, wrt))
        for ax in axes:
            ax.set_xlabel(axis_label(theory, name), fontsize=9)
    else:
        axes[0].set_ylabel(axis_label(theory, name))
        for ax in axes:
            ax.set_xlabel(axis_label(theory, wrt), fontsize=9)


# -- all figures -----------------------------------------------------------------------------
def panels(run: RunData) -> list[Panel]:
    """Every figure the run supports, in report order, each with its section and caption."""
    out: list[Panel] = []
    fig = learning_curves(run)
    if fig is not None:
        out.append(Panel("learning", "learning_curves", fig, _LEARNING_CAPTION))
    preds = run.predictions
    pairs = target_pairs(preds.columns)
    keys = key_columns(preds)
    for target, obs, pred in pairs:
        suffix = "" if target is None else f":{target}"
        fig = parity(run, target, obs, pred)
        if fig is not None:
            out.append(Panel("parity", f"parity{suffix}", fig, _PARITY_CAPTION))
        for column in keys:
            fig = residuals(run, column, obs, pred, target)
            if fig is not None:
                caption = _residual_caption(column, target)
                out.append(Panel("residuals", f"residuals{suffix}:{column}", fig, caption))
    fig = violations(run)
    if fig is not None:
        out.append(Panel("violations", "violations", fig, _VIOLATION_CAPTION))
    for c in profile_constraints(run):
        fig = profiles(run, c)
        if fig is not None:
            out.append(Panel("profiles", f"profiles:{c.label}", fig, _profile_caption(c)))
    return out


def figures(run_dir: str | Path | RunData) -> dict[str, Figure]:
    """The report's figures by name (``learning_curves``, ``parity``, ``residuals:<column>``,
    ``violations``, ``profiles:<constraint>``; multi-target runs add ``:<target>``).

    Parameters
    ----------
    run_dir : str, Path or RunData
        A run folder (see ``docs/runs.md``) or a run already read with :func:`load_run`.

    Returns
    -------
    dict of str to matplotlib.figure.Figure
        Only the figures the run supports (e.g. no learning curves without a neural model).
    """
    run = run_dir if isinstance(run_dir, RunData) else load_run(run_dir)
    return {p.name: p.figure for p in panels(run)}


_LEARNING_CAPTION = (
    "Every loss term of each neural model against the epoch (last fold; log scale). "
    "Training terms are solid, validation terms dashed, the weighted total black; "
    "adaptive weights (lambda/...) are not shown."
)
_PARITY_CAPTION = (
    "Observed against predicted on the test rows of every fold; the dashed line is 1:1 and "
    "the title gives the pooled RMSE."
)
_VIOLATION_CAPTION = (
    "Share of the audit's checks that each model's test predictions violate, per constraint, "
    "averaged over folds (0% is fully consistent with the theory)."
)


def _residual_caption(column: str, target: str | None) -> str:
    what = f" of {target}" if target else ""
    return (
        f"Residuals{what} (predicted - observed) against {column} on the test rows of every "
        "fold; the black line is the binned mean, a flat line at zero means no systematic bias."
    )


def _profile_caption(c: Monotonic) -> str:
    return (
        f"Profiles along {c.wrt} for a few values of {', '.join(c.within or ())} from the test "
        f"rows, where the theory requires {c.describe()}: observed points (black) and each "
        "model's predictions (lines)."
    )
