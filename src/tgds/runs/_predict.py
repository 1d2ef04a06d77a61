"""``predict_with_run``: reuse a run's saved model on new data, and audit the result.

Where the new data hold the run's target column, the predictions are also scored (the
report's ``rmse``, over the rows with a finite observation). Inputs outside the theory's
bounds, or outside the range of the run's data, are reported as a
:class:`PredictionWarning`: the predictions there are extrapolations.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from tgds.exceptions import TgdsError
from tgds.refine import ConsistencyReport, audit
from tgds.runs._runner import key_columns, load_unit_model
from tgds.runs._store import RunError, RunFolder
from tgds.theory import Theory
from tgds.theory._variables import format_number

__all__ = ["PredictionWarning", "predict_with_run"]


class PredictionWarning(UserWarning):
    """What :func:`predict_with_run` found in the new data: inputs outside the theory's
    bounds or the run's data range (extrapolation), or observations it could not score."""


def predict_with_run(
    folder: RunFolder, data: pd.DataFrame, *, model: str | None = None, fold: int | None = None
) -> tuple[pd.DataFrame, ConsistencyReport]:
    """Predictions of a run's model on ``data`` and the audit of those predictions.

    ``model`` defaults to the run's best (first row of ``summary.csv``), ``fold`` to the
    last fold. The returned frame holds the key columns (time, groups, ``wrt``), and
    ``predicted``.

    When ``data`` holds the run's target column, the report's ``rmse`` scores the
    predictions against it, over the rows where it is a finite number; a
    :class:`PredictionWarning` says how many rows were left out (or that none could be
    scored). Without the column, ``rmse`` is ``None``.

    A :class:`PredictionWarning` also names each input column of the model with values
    outside the theory's bounds for that variable, or outside the range the run's data
    held (``data_card.json``; not checked for a physics model with nothing calibrated),
    with the number of rows, the rows, the range expected and the range got: the
    predictions there are extrapolations. The data card's range covers every fold's
    rows, so a value inside it may still lie outside the chosen fold's training rows.
    """
    theory = Theory.from_toml(folder.path / "theory.toml")
    summary = folder.summary("to choose a model from")  # an error names the run's state
    models = list(summary["model"])
    name = model if model is not None else models[0]
    if name not in models:
        raise RunError(f"run {folder.id} has no model {name!r}; its models: {models}.")
    n_folds = len(folder.read_json("folds.json", list))
    k = n_folds - 1 if fold is None else fold
    if not 0 <= k < n_folds:
        raise RunError(f"run {folder.id} has folds 0 to {n_folds - 1}; got fold {fold}.")
    unit = folder.path / "units" / f"{name}__fold{k}"
    info = RunFolder(unit).read_json("model.json", dict)
    target = _target(folder, info)
    fitted = load_unit_model(unit, theory, target)
    inputs = _model_inputs(fitted, info, theory)
    frame = data.reset_index(drop=True)
    if len(frame) == 0:
        raise RunError("the data has no rows to predict.")
    if any(c in frame.columns and not _numeric(frame[c]) for c in inputs):
        # before the model sees them: its own message would call the data X
        raise RunError(
            f"model {name!r} of run {folder.id} cannot predict on this data: "
            + _why(frame, inputs, None)
        )
    try:
        predicted = np.asarray(fitted.predict(frame), dtype=float)
        report = audit(fitted, theory, frame, targets=[target], predictions=predicted)
    except TgdsError:
        raise
    except (ValueError, TypeError, KeyError) as err:  # e.g. a missing or non-numeric column
        raise RunError(
            f"model {name!r} of run {folder.id} cannot predict on this data: "
            + _why(frame, inputs, err)
        ) from None
    report, notes = _scored(report, frame, predicted, target)
    fitted_to_data = not (info.get("kind") == "physics" and info.get("file") is None)
    ranges = _data_ranges(folder) if fitted_to_data else {}
    notes += _outside(frame, inputs, theory, ranges, name)
    for note in notes:
        warnings.warn(note, PredictionWarning, stacklevel=2)
    out = frame[key_columns(theory, frame)].copy()
    out["predicted"] = predicted
    return out, report


def _target(folder: RunFolder, info: dict[str, Any]) -> str:
    """The target the run's models predict: ``model.json``'s (``info``), else ``data_card.json``'s."""
    target = info.get("target") or folder.read_json("data_card.json", dict).get("target")
    if not isinstance(target, str):
        raise RunError(f"run {folder.id} does not record its target in data_card.json.")
    return target


def _model_inputs(fitted: Any, info: dict[str, Any], theory: Theory) -> list[str]:
    """The columns the model reads: a neural model's features, a physics model's inputs,
    ``model.json``'s ``inputs`` (gradient boosting), else the theory's inputs."""
    inner = getattr(fitted, "estimator_", fitted)  # inside a ConsistentRegressor
    names = getattr(inner, "features_", None) or getattr(inner, "inputs_", None)
    return list(names or info.get("inputs") or theory.inputs)


def _scored(
    report: ConsistencyReport, frame: pd.DataFrame, predicted: np.ndarray, target: str
) -> tuple[ConsistencyReport, list[str]]:
    """``report`` with the RMSE over the rows with a finite value of ``target`` (when the
    data hold that column), and notes on the rows that could not be scored."""
    if target not in frame.columns:
        return report, []
    observed = pd.to_numeric(frame[target], errors="coerce").to_numpy(dtype=float)
    scored = np.isfinite(observed)
    n = len(frame)
    if not scored.any():
        return report, [
            f"no RMSE: the target column {target!r} has no finite number in any of the {n} "
            "rows; expected observations to score the predictions against."
        ]
    errors = np.ravel(predicted)[scored] - observed[scored]
    report = replace(report, rmse=float(np.sqrt(np.mean(errors**2))))
    if scored.all():
        return report, []
    return report, [
        f"RMSE over {int(scored.sum())} of {n} rows: the target column {target!r} has no "
        f"finite number in {_at(np.flatnonzero(~scored))}; those rows are predicted and "
        "audited, not scored."
    ]


def _data_ranges(folder: RunFolder) -> dict[str, tuple[float, float]]:
    """``{column: (minimum, maximum)}`` of the run's data, from ``data_card.json``; columns
    whose entry holds no finite minimum and maximum are left out (all, without the file)."""
    ranges: dict[str, tuple[float, float]] = {}
    if not (folder.path / "data_card.json").is_file():
        return ranges
    for c in folder.read_json("data_card.json", dict).get("columns") or []:
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            continue
        lo, hi = c.get("minimum"), c.get("maximum")
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lo, hi)):
            if np.isfinite([lo, hi]).all():
                ranges[c["name"]] = (float(lo), float(hi))
    return ranges


def _outside(
    frame: pd.DataFrame,
    inputs: list[str],
    theory: Theory,
    ranges: dict[str, tuple[float, float]],
    name: str,
) -> list[str]:
    """Notes on the input columns with values outside the theory's bounds of the variable
    or the run's data range: rows, expected and got."""
    bounds = {v.name: v.bounds for v in theory.variables if v.bounds is not None}
    notes = []
    for c in inputs:
        values = frame[c] if c in frame.columns else None
        if values is None or not _numeric(values):
            continue
        x = values.to_numpy(dtype=float)
        finite = x[np.isfinite(x)]
        if not finite.size:
            continue
        got = f"got values from {format_number(finite.min())} to {format_number(finite.max())}"
        for limits, what in (
            (bounds.get(c), f"the theory's bounds for {c!r}"),
            (ranges.get(c), "the range of the run's data (data_card.json)"),
        ):
            if limits is None:
                continue
            lo, hi = limits
            out = (x < lo) | (x > hi)
            if out.any():
                notes.append(
                    f"the input column {c!r} has {int(out.sum())} of {len(x)} rows outside "
                    f"[{format_number(lo)}, {format_number(hi)}], {what}: "
                    f"{_at(np.flatnonzero(out))}; {got}. Model {name!r} extrapolates there."
                )
    return notes


def _at(rows: np.ndarray) -> str:
    """``row 4, 9, 12 (counting from 0)``: the first five row positions of the data."""
    shown = ", ".join(str(r) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
    return f"row{'s' if len(rows) > 1 else ''} {shown} (counting from 0)"


def _numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _why(frame: pd.DataFrame, inputs: list[str], err: Exception | None) -> str:
    """The missing and non-numeric input columns, else the model's own error. Each part
    starts with ``it`` (the data), which ``tgds predict`` replaces by the data file's name."""
    missing = [c for c in inputs if c not in frame.columns]
    text = [c for c in inputs if c in frame.columns and not _numeric(frame[c])]
    parts = []
    if missing:
        parts.append(f"it lacks the input column(s) {missing}")
    if text:
        parts.append(
            "it has values that are not numbers "
            + "; and ".join(_not_numbers(frame[c], c) for c in text)
            + "; expected numbers"
        )
    return "; ".join(parts) + "." if parts else f"{type(err).__name__}: {err}"


def _not_numbers(values: pd.Series, column: str) -> str:
    """``in the input column 'v': 'warm', 'n/a' in rows 2, 7 (counting from 0)``: the values
    of a column that are not numbers (all of them for a column of another type, such as
    true/false or numbers stored as text), and their rows."""
    bad = values.notna().to_numpy()
    if not pd.api.types.is_bool_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce").isna().to_numpy() & bad
        bad = numbers if numbers.any() else bad
    rows = np.flatnonzero(bad)
    if not rows.size:  # nothing but missing values, in a column of text type
        return f"in the input column {column!r}: only missing values, of type {values.dtype}"
    distinct = pd.unique(values.to_numpy()[rows])
    shown = ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in distinct[:3]) + (
        ", ..." if len(distinct) > 3 else ""
    )
    return f"in the input column {column!r}: {shown} in {_at(rows)}"
