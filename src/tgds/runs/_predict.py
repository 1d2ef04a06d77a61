"""``predict_with_run``: reuse a run's saved model on new data, and audit the result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tgds.exceptions import TgdsError
from tgds.refine import ConsistencyReport, audit
from tgds.runs._runner import key_columns, load_unit_model
from tgds.runs._store import RunError, RunFolder, read_summary
from tgds.theory import Theory

__all__ = ["predict_with_run"]


def predict_with_run(
    folder: RunFolder, data: pd.DataFrame, *, model: str | None = None, fold: int | None = None
) -> tuple[pd.DataFrame, ConsistencyReport]:
    """Predictions of a run's model on ``data`` and the audit of those predictions.

    ``model`` defaults to the run's best (first row of ``summary.csv``), ``fold`` to the
    last fold. The returned frame holds the key columns (time, groups, ``wrt``), and
    ``predicted``.
    """
    theory = Theory.from_toml(folder.path / "theory.toml")
    if not (folder.path / "summary.csv").exists():
        raise RunError(
            f"run {folder.id} has no summary.csv: it is not complete (resume it with tgds run --resume)."
        )
    summary = read_summary(folder.path / "summary.csv")
    models = list(summary["model"])
    name = model if model is not None else models[0]
    if name not in models:
        raise RunError(f"run {folder.id} has no model {name!r}; its models: {models}.")
    n_folds = len(folder.read_json("folds.json", list))
    k = n_folds - 1 if fold is None else fold
    if not 0 <= k < n_folds:
        raise RunError(f"run {folder.id} has folds 0 to {n_folds - 1}; got fold {fold}.")
    unit = folder.path / "units" / f"{name}__fold{k}"
    target = _target(folder, unit)
    fitted = load_unit_model(unit, theory, target)
    frame = data.reset_index(drop=True)
    if len(frame) == 0:
        raise RunError("the data has no rows to predict.")
    try:
        predicted = np.asarray(fitted.predict(frame), dtype=float)
        report = audit(fitted, theory, frame, targets=[target], predictions=predicted)
    except TgdsError:
        raise
    except (ValueError, TypeError, KeyError) as err:  # e.g. a missing or non-numeric column
        raise RunError(
            f"model {name!r} of run {folder.id} cannot predict on this data: "
            + _why(
                frame,
                RunFolder(unit).read_json("model.json", dict).get("inputs") or theory.inputs,
                err,
            )
        ) from None
    out = frame[key_columns(theory, frame)].copy()
    out["predicted"] = predicted
    return out, report


def _target(folder: RunFolder, unit: Path) -> str:
    """The target the run's models predict: ``model.json``'s, else ``data_card.json``'s."""
    info = RunFolder(unit).read_json("model.json", dict)
    target = info.get("target") or folder.read_json("data_card.json", dict).get("target")
    if not isinstance(target, str):
        raise RunError(f"run {folder.id} does not record its target in data_card.json.")
    return target


def _why(frame: pd.DataFrame, inputs: list[str], err: Exception) -> str:
    """The missing and non-numeric input columns, else the model's own error."""
    missing = [c for c in inputs if c not in frame.columns]
    text = [
        c
        for c in inputs
        if c in frame.columns
        and (not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
    ]
    parts = []
    if missing:
        parts.append(f"it lacks the input column(s) {missing}")
    if text:
        parts.append(f"the input column(s) {text} do not hold numbers only")
    return "; ".join(parts) + "." if parts else f"{type(err).__name__}: {err}"
