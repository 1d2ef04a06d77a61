"""``ConsistencyReport``: what an audit found, per constraint."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tgds.theory._check import has_default_index, label_text

__all__ = ["ConstraintResult", "ConsistencyReport"]

_WORST = 5


@dataclass(frozen=True)
class ConstraintResult:
    """The audit of one constraint.

    ``n_checks`` checks were made (rows, pairs of rows, or row-and-pair combinations),
    ``n_violations`` failed. ``mean_violation`` and ``max_violation`` are the sizes of
    the failed checks in the units of the check (e.g. kg/m^3 for a density inversion, a
    relative residual for an equation). ``violations`` holds every failed check as
    ``(rows, size)``, largest first, where ``rows`` is a row position or a pair of
    positions (for ``X.iloc``); ``violation_labels`` the same checks with the rows given
    by the index labels of the audited frame (for ``X.loc``: the labels of a filtered or
    date-indexed frame, the positions again for a polars frame or the default index).
    ``worst`` and ``worst_labels`` are the first five of each; the report's text shows labels.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> r = ConstraintResult.from_checks(
    ...     "bounds", "y <= 1", np.array([0.0, 2.0, 1.0]), np.array([False, True, True]),
    ...     np.arange(3), index=pd.Index([17, 42, 56]))
    >>> r.worst, r.worst_labels
    ((((1,), 2.0), ((2,), 1.0)), (((42,), 2.0), ((56,), 1.0)))
    """

    kind: str
    label: str
    n_checks: int
    n_violations: int
    mean_violation: float
    max_violation: float
    violations: tuple[tuple[tuple[int, ...], float], ...]
    note: str = ""
    violation_labels: tuple[tuple[tuple[Hashable, ...], float], ...] | None = field(
        default=None, repr=False
    )

    def __post_init__(self) -> None:
        if self.violation_labels is None:  # no index given: rows are named by position
            object.__setattr__(self, "violation_labels", self.violations)

    @property
    def worst(self) -> tuple[tuple[tuple[int, ...], float], ...]:
        return self.violations[:_WORST]

    @property
    def worst_labels(self) -> tuple[tuple[tuple[Hashable, ...], float], ...]:
        """The five largest violations, with rows by index label (see ``violation_labels``)."""
        return self.violation_labels[:_WORST]

    @property
    def rate(self) -> float:
        """Fraction of checks violated (0 when nothing was checked)."""
        return self.n_violations / self.n_checks if self.n_checks else 0.0

    @classmethod
    def from_checks(
        cls,
        kind: str,
        label: str,
        magnitude: np.ndarray,
        violated: np.ndarray,
        rows: np.ndarray,
        note: str = "",
        index: pd.Index | None = None,
    ) -> ConstraintResult:
        """The result of checks of sizes ``magnitude``, failed where ``violated``, on the
        ``rows`` (a position, or a pair of positions, per check) of a frame whose index is
        ``index`` (default: labels are positions)."""
        magnitude = np.asarray(magnitude, dtype=float)
        violated = np.asarray(violated, dtype=bool)
        bad = np.flatnonzero(violated)
        sizes = magnitude[bad]
        order = bad[np.argsort(-np.nan_to_num(sizes, nan=np.inf), kind="stable")]
        rows = np.asarray(rows, dtype=np.intp)
        at = (rows[:, None] if rows.ndim == 1 else rows)[order]  # positions of each failure
        found = tuple(
            (tuple(p), float(magnitude[i])) for p, i in zip(at.tolist(), order, strict=True)
        )
        labels = None
        if index is not None and not has_default_index(index):
            flat, width = index.take(at.ravel()).tolist(), at.shape[1]
            labels = tuple(
                (tuple(flat[k * width : (k + 1) * width]), size)
                for k, (_, size) in enumerate(found)
            )
        return cls(
            kind=kind,
            label=label,
            n_checks=int(violated.size),
            n_violations=int(bad.size),
            mean_violation=float(np.mean(sizes)) if bad.size else 0.0,
            max_violation=float(np.max(sizes)) if bad.size else 0.0,
            violations=found,
            note=note,
            violation_labels=labels,
        )


@dataclass(frozen=True)
class ConsistencyReport:
    """The result of :func:`tgds.audit`.

    ``score`` is the mean over the audited constraints of the fraction of checks that
    passed: 1 means no violation anywhere, 0 that every check of every constraint
    failed. Each constraint counts equally, whatever its number of checks.
    ``rmse`` is the accuracy when observations were given to the audit. Its text names
    rows by the audited frame's index labels (see :class:`ConstraintResult`).
    """

    results: tuple[ConstraintResult, ...]
    n_rows: int
    rmse: float | None = None

    @property
    def score(self) -> float:
        checked = [r for r in self.results if r.n_checks]
        return float(np.mean([1.0 - r.rate for r in checked])) if checked else 1.0

    @property
    def n_violations(self) -> int:
        return sum(r.n_violations for r in self.results)

    def __getitem__(self, label: str) -> ConstraintResult:
        for r in self.results:
            if r.label == label:
                return r
        raise KeyError(
            f"no constraint {label!r} in this report; audited: {[r.label for r in self.results]}"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per constraint: kind, constraint, checks, violations, rate, mean and max size."""
        return pd.DataFrame(
            [
                {
                    "kind": r.kind,
                    "constraint": r.label,
                    "checks": r.n_checks,
                    "violations": r.n_violations,
                    "rate": r.rate,
                    "mean_violation": r.mean_violation,
                    "max_violation": r.max_violation,
                }
                for r in self.results
            ],
            columns=[
                "kind",
                "constraint",
                "checks",
                "violations",
                "rate",
                "mean_violation",
                "max_violation",
            ],
        )

    def __str__(self) -> str:
        acc = "" if self.rmse is None else f", RMSE {self.rmse:.4g}"
        lines = [f"Consistency audit of {self.n_rows} rows: score {self.score:.4f}{acc}"]
        for r in self.results:
            lines.append(
                f"  {r.kind:<12} {r.label}: {r.n_violations} of {r.n_checks} checks violated ({100 * r.rate:.2f}%)"
                + (
                    f", mean {r.mean_violation:.4g}, max {r.max_violation:.4g}"
                    if r.n_violations
                    else ""
                )
            )
            if r.note:
                lines.append(f"      ({r.note})")
            if r.worst:
                shown = "; ".join(
                    f"rows {','.join(map(label_text, rows))}: {size:.4g}"
                    for rows, size in r.worst_labels
                )
                lines.append(f"      worst: {shown}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        table = self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}", escape=True)
        return f"<div class='tgds-audit'><h4>Consistency audit: score {self.score:.4f}</h4>{table}</div>"

    def __repr__(self) -> str:
        return f"<ConsistencyReport: {len(self.results)} constraints, {self.n_violations} violations, score {self.score:.4f}>"
