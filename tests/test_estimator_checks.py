"""Every tgds estimator passes scikit-learn's estimator checks (the theory-free configuration).

With a theory, estimators bind DataFrame columns to variables, which scikit-learn's
array-based checks cannot exercise; those behaviours are tested in test_models.py.
"""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from tgds.models import TheoryGuidedClassifier, TheoryGuidedRegressor

ESTIMATORS = [
    TheoryGuidedRegressor(hidden=(16,), epochs=60, learning_rate=1e-2, random_state=0),
    TheoryGuidedClassifier(hidden=(16,), epochs=60, learning_rate=1e-2, random_state=0),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@parametrize_with_checks(ESTIMATORS)
def test_scikit_learn_contract(estimator, check):
    check(estimator)
