"""Estimators that follow the scikit-learn contract and learn from data and theory."""

from tgds.models._neural import TheoryGuidedClassifier, TheoryGuidedRegressor
from tgds.models._physics import PhysicsModelRegressor

__all__ = ["PhysicsModelRegressor", "TheoryGuidedClassifier", "TheoryGuidedRegressor"]
