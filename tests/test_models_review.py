"""Review of the estimators' user-facing surface: column binding, labels, refits, messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from tgds._validation import InvalidParameterError
from tgds.exceptions import DataError, TheoryError
from tgds.models import PhysicsModelRegressor, TheoryGuidedClassifier, TheoryGuidedRegressor
from tgds.theory import Monotonic, Parameter, PhysicsModel, Theory, Variable


@pytest.fixture(scope="module")
def two_targets():
    """a = x², b = -10 x: two targets of one input."""
    theory = Theory(
        [Variable("x", "m"), Variable("a", "1", role="target"), Variable("b", "1", role="target")]
    )
    x = np.linspace(-1, 1, 30)
    return theory, pd.DataFrame({"x": x, "a": x**2, "b": -10 * x})


@pytest.fixture(scope="module")
def labelled():
    """A binary label that rises with x, and a theory that says so."""
    theory = Theory(
        [Variable("x", "m"), Variable("label", "1", role="target")],
        constraints=[Monotonic("label", wrt="x", name="up")],
    )
    X = pd.DataFrame({"x": np.linspace(-2, 2, 40)})
    return theory, X, (X["x"] > 0).astype(int).to_numpy()


def _fast_regressor(**kw):
    return TheoryGuidedRegressor(**{"hidden": (8,), "epochs": 5, "random_state": 0, **kw})


def _fast_classifier(**kw):
    return TheoryGuidedClassifier(**{"hidden": (8,), "epochs": 5, "random_state": 0, **kw})


def test_a_target_named_as_an_input_is_refused(two_targets):
    # with the answer among its inputs a model learns the identity and cannot predict new rows
    theory, df = two_targets
    with pytest.raises(DataError, match=r"\['a'\] are both inputs and targets"):
        _fast_regressor(theory=theory, inputs=["x", "a"], targets="a").fit(df)
    # another target variable is a legitimate input
    model = _fast_regressor(theory=theory, inputs=["x", "b"], targets="a").fit(df)
    assert model.features_ == ("x", "b") and model.targets_ == ("a",)


def test_empty_or_repeated_column_lists_are_refused(two_targets):
    theory, df = two_targets
    with pytest.raises(
        InvalidParameterError, match=r"'inputs' parameter .* at least one column; got \[\]"
    ):
        _fast_regressor(theory=theory, inputs=[]).fit(df)
    only_target = Theory([Variable("a", "1", role="target")])
    with pytest.raises(TheoryError, match="declares no input variable"):
        _fast_regressor(theory=only_target).fit(df)
    with pytest.raises(DataError, match=r"inputs names \['x'\] more than once"):
        _fast_regressor(theory=theory, inputs=["x", "x"]).fit(df)
    with pytest.raises(DataError, match=r"targets names \['a'\] more than once"):
        _fast_regressor(theory=theory, targets=["a", "a"]).fit(df)


def test_missing_input_columns_are_named_with_near_misses(two_targets):
    theory, df = two_targets
    model = _fast_regressor(theory=theory).fit(df)
    with pytest.raises(DataError, match=r"X lacks the input column\(s\) \['x'\]") as err:
        model.predict(df.rename(columns={"x": "x "}))
    assert "'x ' for 'x'" in str(err.value)  # a stray space, shown quoted
    with pytest.raises(DataError, match=r"'X' for 'x'"):
        _fast_regressor(theory=theory).fit(df.rename(columns={"x": "X"}))
    falling = Theory(
        [Variable("x", "m"), Variable("b", "1", role="target")],
        constraints=[Monotonic("b", wrt="x", direction="decreasing")],
    )
    with pytest.raises(DataError, match=r"X_unlabeled lacks the input column\(s\) \['x'\]"):
        _fast_regressor(theory=falling).fit(df, X_unlabeled=pd.DataFrame({"y": [0.0]}))


def test_an_array_where_the_theory_binds_columns_says_how_to_wrap_it(two_targets):
    theory, df = two_targets
    with pytest.raises(DataError, match=r"pd\.DataFrame\(X, columns=\['x'\]\)"):
        _fast_regressor(theory=theory).fit(df[["x"]].to_numpy(), df[["a", "b"]].to_numpy())
    model = _fast_regressor(theory=theory).fit(df)
    with pytest.raises(DataError, match=r"got ndarray.*pd\.DataFrame\(X, columns=\['x'\]\)"):
        model.predict(df[["x"]].to_numpy())


def test_classifier_binds_a_y_frame_by_the_target_name(labelled):
    theory, X, label = labelled
    y = pd.DataFrame({"other": 1 - label, "label": label})
    model = _fast_classifier(theory=theory, epochs=60, learning_rate=1e-2).fit(X, y)
    expected = _fast_classifier(theory=theory, epochs=60, learning_rate=1e-2).fit(X, label)
    np.testing.assert_array_equal(model.predict_proba(X), expected.predict_proba(X))
    with pytest.raises(DataError, match=r"y lacks the target column\(s\) \['label'\]"):
        _fast_classifier(theory=theory).fit(X, pd.DataFrame({"other": label}))


def test_a_failed_refit_leaves_no_mixed_state(labelled):
    theory, X, label = labelled
    model = _fast_classifier(theory=theory).fit(X, label)
    with pytest.raises(TheoryError, match="binary target"):
        model.fit(X, np.arange(40) % 3)  # physics terms refuse three classes
    # classes_ of the failed fit next to the network of the earlier one would mislabel rows
    with pytest.raises(NotFittedError):
        model.predict(X)
    assert not hasattr(model, "model_")


def test_one_class_message_shows_the_label_as_written():
    with pytest.raises(DataError, match=r"got only 'a'\.$"):
        _fast_classifier().fit(np.ones((4, 1)), ["a"] * 4)
    with pytest.raises(DataError, match=r"got only 1\.0\.$"):
        _fast_classifier().fit(np.ones((4, 1)), np.ones(4))


def test_physics_model_checks_that_its_columns_are_numeric_when_fitted():
    theory = Theory(
        [Variable("sim", "K"), Variable("T", "K", role="target")],
        parameters=[Parameter("k", "1", value=2.0)],
        physics_model=PhysicsModel(outputs={"T": "k*sim"}),
    )
    model = PhysicsModelRegressor(theory=theory)
    with pytest.raises(DataError, match="column 'sim' must be numeric"):
        model.fit(pd.DataFrame({"sim": ["1", "2"]}))
    fitted = model.fit(pd.DataFrame({"sim": [1.0, 2.0]}))
    np.testing.assert_array_equal(fitted.predict(pd.DataFrame({"sim": [3.0]})), [6.0])


def test_unlabeled_points_without_physics_terms_are_not_ignored_silently(labelled):
    theory, X, labels = labelled
    df = X.assign(label=labels.astype(float))
    plain = Theory([Variable("x", "m"), Variable("label", "1", role="target")])
    for model, why in (
        (_fast_regressor(theory=theory, physics=None), "physics=None"),
        (_fast_regressor(theory=plain), "the theory has no constraints"),
    ):
        with pytest.warns(UserWarning, match=rf"X_unlabeled is not used: .*\({why}\)"):
            model.fit(df, X_unlabeled=X)


def test_training_values_outside_the_theorys_bounds_are_named():
    # they were accepted without a word, although check_data and predict flag them
    theory = Theory(
        [Variable("x", "m", bounds=(0, 1)), Variable("y", "m", bounds=(0, 10), role="target")]
    )
    X = pd.DataFrame({"x": [0.1, 0.5, 2.0, 0.7], "y": [1.0, 2.0, 3.0, -4.0]})
    model = TheoryGuidedRegressor(theory=theory, epochs=1, hard_bounds=True)
    with pytest.warns(UserWarning) as caught:
        model.fit(X)
    texts = [str(w.message) for w in caught]
    assert any(
        "'x' has 1 of 4 training values outside the theory's bounds [0, 1] (from 2 to 2)" in t
        for t in texts
    ), texts
    assert any(
        "'y' has 1 of 4" in t and "hard_bounds=True cannot reach them" in t for t in texts
    ), texts
