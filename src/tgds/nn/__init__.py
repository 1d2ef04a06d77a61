"""Neural networks and the one training loop of tgds.

- :class:`MLP` and :class:`PhysicalNetwork` (standardised inside, physical units outside,
  optional hard bounds on the outputs);
- :func:`train` with :class:`LossTerm` and :class:`TrainSettings`: every neural model
  of tgds trains through it;
- physics loss terms built from a theory's constraints (:func:`build_physics_terms`);
- loss weighting: :class:`FixedWeights` or :class:`ReLoBRaLo`.
"""

from tgds.nn._mlp import ACTIVATIONS, MLP
from tgds.nn._network import (
    PhysicalNetwork,
    count_parameters,
    l2_penalty,
    make_network,
    trainable_filter,
)
from tgds.nn._terms import TermContext, build_physics_terms
from tgds.nn._train import (
    LossTerm,
    TrainingError,
    TrainResult,
    TrainSettings,
    checkpoint_info,
    train,
)
from tgds.nn._weighting import AbstractWeighting, FixedWeights, ReLoBRaLo

__all__ = [
    "ACTIVATIONS",
    "AbstractWeighting",
    "FixedWeights",
    "LossTerm",
    "MLP",
    "PhysicalNetwork",
    "ReLoBRaLo",
    "TermContext",
    "TrainResult",
    "TrainSettings",
    "TrainingError",
    "build_physics_terms",
    "checkpoint_info",
    "count_parameters",
    "l2_penalty",
    "make_network",
    "train",
    "trainable_filter",
]
