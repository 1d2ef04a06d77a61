"""Estimators that follow the scikit-learn contract and learn from data and theory."""

from tgds.models._neural import TheoryGuidedClassifier, TheoryGuidedRegressor

__all__ = ["TheoryGuidedClassifier", "TheoryGuidedRegressor"]
