"""Plots of fitted tgds models (matplotlib)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tgds.exceptions import DataError

__all__ = ["learning_curves"]


def learning_curves(model: Any, *, ax: Any = None, log: bool = True) -> Any:
    """Draw every loss term of a fitted neural model against the epoch.

    Training terms (``data`` and each physics term, unweighted) are solid lines, the
    weighted total is black, the validation data loss is dashed, the epoch whose
    weights were kept (early stopping) is marked with a vertical line, and epochs where
    the physics terms were warming up (``physics_warmup``/``physics_ramp``) are shaded.

    Parameters
    ----------
    model : TheoryGuidedRegressor or TheoryGuidedClassifier
        A fitted model (anything with a ``history_`` dict of per-epoch lists).
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made otherwise.
    log : bool
        Logarithmic loss axis (non-positive values are not drawn).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from tgds.models import TheoryGuidedRegressor
    >>> X = np.linspace(0, 1, 30).reshape(-1, 1)
    >>> m = TheoryGuidedRegressor(hidden=(8,), epochs=10, random_state=0).fit(X, X[:, 0] ** 2)
    >>> fig = learning_curves(m)
    >>> sorted(line.get_label() for line in fig.axes[0].get_lines() if not line.get_label().startswith("_"))
    ['best epoch', 'data', 'total (weighted)', 'validation data']
    """
    history = getattr(model, "history_", None)
    if not isinstance(history, dict) or "epoch" not in history:
        raise DataError(
            "learning_curves needs a fitted TheoryGuidedRegressor or TheoryGuidedClassifier "
            f"(its history_ of per-epoch losses); got a {type(model).__name__} that has no "
            "history_: fit it first (only neural models record one)."
        )
    if ax is None:
        import matplotlib.pyplot as plt  # noqa: PLC0415 - matplotlib only when plotting

        fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    else:
        fig = ax.figure
    epochs = history["epoch"]
    terms = [
        k
        for k in history
        if k not in ("epoch", "loss", "val_data", "schedule") and not k.startswith("lambda/")
    ]

    def shown(key: str) -> np.ndarray:  # a log axis would draw 0 far below the axes
        values = np.asarray(history[key], dtype=float)
        return np.where(values > 0, values, np.nan) if log else values

    for name in terms:
        ax.plot(epochs, shown(name), label=name, lw=1.5)
    ax.plot(epochs, shown("loss"), color="black", lw=1.0, alpha=0.7, label="total (weighted)")
    if "val_data" in history:
        ax.plot(epochs, shown("val_data"), ls="--", lw=1.5, label="validation data")
    warming = [e for e, s in zip(epochs, history.get("schedule", ()), strict=False) if s < 1]
    if warming:
        ax.axvspan(0, max(warming), color="grey", alpha=0.12, lw=0, label="physics warm-up")
    best = getattr(model, "best_epoch_", None)
    if best:
        ax.axvline(best, color="grey", lw=0.8, ls=":", label="best epoch")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (scaled units)")
    ax.set_title(f"Learning curves of {type(model).__name__}")
    ax.legend(fontsize="small")
    return fig
