"""Refinement of outputs: audit any model against a theory; repair or reject predictions.

- :func:`audit` -> :class:`ConsistencyReport`: per constraint, checks made, violations,
  their sizes and the worst rows, for any model with ``predict``;
- :class:`ConsistentRegressor`: wraps a regressor and applies repairs
  (:class:`ProjectToBounds`, :class:`IsotonicProjection`, :class:`ConservationProjection`)
  or rejects predictions that still violate the theory.
"""

from tgds.refine._audit import audit
from tgds.refine._consistent import ConsistentRegressor, default_repairs
from tgds.refine._repairs import (
    AbstractRepair,
    ConservationProjection,
    IsotonicProjection,
    ProjectToBounds,
    RepairContext,
)
from tgds.refine._report import ConsistencyReport, ConstraintResult

__all__ = [
    "AbstractRepair",
    "ConservationProjection",
    "ConsistencyReport",
    "ConsistentRegressor",
    "ConstraintResult",
    "IsotonicProjection",
    "ProjectToBounds",
    "RepairContext",
    "audit",
    "default_repairs",
]
