"""``predict_with_run``: reuse a run's saved model on new data, and audit the result."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tgds.refine import ConsistencyReport, audit
from tgds.runs._runner import key_columns, load_unit_model
from tgds.runs._store import RunError, RunFolder
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
    summary = pd.read_csv(folder.path / "summary.csv")
    models = list(summary["model"])
    name = model if model is not None else models[0]
    if name not in models:
        raise RunError(f"run {folder.id} has no model {name!r}; its models: {models}.")
    n_folds = len(folder.read_json("folds.json"))
    k = n_folds - 1 if fold is None else fold
    if not 0 <= k < n_folds:
        raise RunError(f"run {folder.id} has folds 0 to {n_folds - 1}; got fold {fold}.")
    fitted = load_unit_model(folder.path / "units" / f"{name}__fold{k}", theory)
    frame = data.reset_index(drop=True)
    predicted = np.asarray(fitted.predict(frame), dtype=float)
    out = frame[key_columns(theory, frame)].copy()
    out["predicted"] = predicted
    return out, audit(fitted, theory, frame, predictions=predicted)
