"""Model selection that respects physical data: splitters, scorers, and ``compare``.

- splitters for time (:class:`BlockedTimeSplit`), space (:class:`SpatialBlockSplit`),
  physical regimes (:class:`RegimeSplit`) and extrapolation (:class:`ExtrapolationSplit`);
- scorers: :func:`consistency_scorer`, :func:`simplicity_scorer`, and :func:`complexity`
  per model family;
- :func:`compare`: many models on the same folds, ranked on accuracy, consistency and
  simplicity.
"""

from tgds.selection._compare import Comparison, compare, score_fold, summarise
from tgds.selection._scorers import consistency_scorer, simplicity_scorer
from tgds.selection._simplicity import complexity
from tgds.selection._splitters import (
    BlockedTimeSplit,
    ExtrapolationSplit,
    RegimeSplit,
    SpatialBlockSplit,
)

__all__ = [
    "BlockedTimeSplit",
    "Comparison",
    "ExtrapolationSplit",
    "RegimeSplit",
    "SpatialBlockSplit",
    "compare",
    "complexity",
    "consistency_scorer",
    "score_fold",
    "simplicity_scorer",
    "summarise",
]
