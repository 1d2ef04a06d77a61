"""Found in review of the training loop, checkpoints and tgds.save/load: each test failed
before its fix (silent wrong resumes, bare TypeErrors and KeyErrors, messages that named a
temporary file)."""

from __future__ import annotations

import json
import math
import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
import pytest

import tgds
from tgds.exceptions import DataError, TgdsError
from tgds.models import TheoryGuidedRegressor
from tgds.nn import (
    MLP,
    FixedWeights,
    LossTerm,
    ReLoBRaLo,
    TrainSettings,
    checkpoint_info,
    make_network,
    train,
    trainable_filter,
)
from tgds.refine import ConsistentRegressor, ProjectToBounds
from tgds.theory import Theory, Variable
from tgds.utils import read_container, write_container


# -- the training loop and its checkpoints ---------------------------------------------------
def _problem(hidden=(8,), n=20):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(n, 2))
    y = 2 * x[:, :1] - x[:, 1:]
    net = make_network(
        x,
        y,
        hidden=hidden,
        activation="tanh",
        fourier_features=0,
        fourier_scale=1.0,
        lower=np.full(1, -np.inf),
        upper=np.full(1, np.inf),
        hard_bounds=False,
        key=jax.random.PRNGKey(0),
    )

    def mse(model, batch):
        return jnp.mean((jax.vmap(model)(batch["x"]) - batch["y"]) ** 2)

    return net, LossTerm("data", mse, {"x": x, "y": y}, 8)


def _train(net, terms, resume=False, validate=None, **settings):
    settings = TrainSettings(**{"optimizer": optax.adam(1e-2), "epochs": 3, **settings})
    key = jax.random.PRNGKey(0)
    return train(
        net,
        terms,
        settings,
        key,
        trainable=trainable_filter(net),
        resume=resume,
        validate=validate,
    )


@pytest.fixture(scope="module")
def _checkpoint_bytes(tmp_path_factory):
    net, data = _problem()
    path = tmp_path_factory.mktemp("ckpt") / "ckpt.tgds"
    _train(net, [data], checkpoint=path, epochs=4)
    return path.read_bytes()


@pytest.fixture
def checkpoint(_checkpoint_bytes, tmp_path):
    """A checkpoint of 4 epochs of the data term, with the network and the term."""
    path = tmp_path / "ckpt.tgds"
    path.write_bytes(_checkpoint_bytes)
    return (path, *_problem())


def test_resuming_a_checkpoint_of_more_epochs_than_asked_is_refused(checkpoint):
    # it returned a model of 4 epochs with epochs_run=4 from a training of 2 epochs
    path, net, data = checkpoint
    with pytest.raises(TgdsError, match=r"has trained 4 epochs, more than the 2 epochs"):
        _train(net, [data], checkpoint=path, resume=True, epochs=2)
    assert _train(net, [data], checkpoint=path, resume=True, epochs=6).epochs_run == 6


def _rewrite(path, net, drop=(), **changes):
    """Rewrite the checkpoint at ``path`` with metadata ``changes`` (same arrays)."""
    params = eqx.filter(net, trainable_filter(net))
    optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-2))
    like = (params, optimizer.init(params), FixedWeights().init(1), params)
    meta, tree = read_container(path, "checkpoint-1", lambda m: like)
    meta = {k: v for k, v in {**meta, **changes}.items() if k not in drop}
    write_container(path, "checkpoint-1", meta, tree)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        # a fractional epoch was truncated: epochs 3 and 4 ran twice, the history had 8 rows
        ({"epoch": 2.7}, "'epoch' must be a non-negative integer; got 2.7"),
        ({"epoch": True}, "'epoch' must be a non-negative integer; got True"),
        ({"epoch": -1}, "'epoch' must be a non-negative integer"),  # OverflowError of uint32
        # resumed with a history of 2 rows for 4 epochs
        ({"history": {"epoch": [1.0, 2.0], "loss": [1.0, 1.0], "data": [1.0, 1.0]}}, "'history'"),
        ({"history": {"epoch": "abcd"}}, "'history' must be a list of 4 numbers"),
        ({"stopped_early": "no"}, "'stopped_early' must be true or false"),  # bool("no") is True
        ({"best_val": math.nan}, "'best_val' must be a number"),  # no epoch could ever be better
        ({"bad_epochs": -5}, "'bad_epochs' must be an integer from 0 to 4"),
    ],
)
def test_a_checkpoint_with_damaged_counters_is_refused(checkpoint, changes, message):
    path, net, data = checkpoint
    _rewrite(path, net, **changes)
    with pytest.raises(DataError, match=rf"checkpoint '.*' has corrupt metadata: {message}"):
        _train(net, [data], checkpoint=path, resume=True, epochs=6)


def test_a_checkpoint_without_stopped_early_still_resumes(checkpoint):
    path, net, data = checkpoint
    _rewrite(path, net, drop=("stopped_early",))  # written before early stopping was recorded
    assert _train(net, [data], checkpoint=path, resume=True, epochs=5).epochs_run == 5


@pytest.mark.parametrize("info", [[1, 2], "ab"])
def test_checkpoint_info_that_is_not_an_object_is_a_data_error(checkpoint, info):
    # dict() of it raised a bare TypeError or ValueError
    path, net, _ = checkpoint
    _rewrite(path, net, info=info)
    with pytest.raises(DataError, match=r"corrupt metadata: 'info' must be a JSON object"):
        checkpoint_info(path)


def test_resume_refuses_a_checkpoint_whose_history_has_other_records(checkpoint):
    # resumed with a validation loss, val_data held 2 values for 6 epochs (one an epoch, said
    # the docstring), and the next resume would find the history out of step
    path, net, data = checkpoint
    with pytest.raises(TgdsError, match=r"records \['data', 'epoch', 'loss'\].*'val_data'"):
        _train(net, [data], checkpoint=path, resume=True, epochs=6, validate=lambda m: 1.0)


def test_a_checkpoint_of_another_network_says_how_to_start_again(checkpoint):
    path, net, data = checkpoint
    other, _ = _problem(hidden=(16,))
    with pytest.raises(DataError, match=r"changed shape.*another network.*resume=False"):
        _train(other, [data], checkpoint=path, resume=True, epochs=6)
    with pytest.raises(DataError, match=r"another network, optimizer, weighting"):
        _train(net, [data], checkpoint=path, resume=True, epochs=6, weighting=ReLoBRaLo())


def test_train_settings_name_a_weighting_class_and_a_non_optax_optimizer():
    # ReLoBRaLo (the class) failed in train with "init() missing 1 required positional
    # argument", "adam" with "'str' object has no attribute 'init'"
    with pytest.raises(
        TgdsError, match=r"weighting must be .*got .*ReLoBRaLo.*write ReLoBRaLo\(\)"
    ):
        TrainSettings(optimizer=optax.adam(1e-2), epochs=3, weighting=ReLoBRaLo)
    with pytest.raises(TgdsError, match=r"optimizer must be an Optax transformation.*got 'adam'"):
        TrainSettings(optimizer="adam", epochs=3)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((-1, 1, (8,)), {}, "n_in must be a positive integer; got -1"),  # math domain error
        ((2.5, 1, (8,)), {}, "n_in must be a positive integer; got 2.5"),  # a JAX shape error
        ((2, 0, (8,)), {}, "n_out must be a positive integer; got 0"),  # an empty output
        ((2, 1, 8), {}, r"hidden must be a tuple of positive integer widths.*got 8"),  # TypeError
        ((2, 1, (8,), ["tanh"]), {}, r"activation must be one of.*got \['tanh'\]"),  # unhashable
    ],
)
def test_mlp_names_a_bad_size_hidden_or_activation(args, kwargs, message):
    with pytest.raises(TgdsError, match=message):
        MLP(*args, key=jax.random.PRNGKey(0), **kwargs)


@pytest.mark.parametrize("field", ["alpha", "temperature", "expected_rho"])
def test_relobralo_names_a_setting_that_is_not_a_number(field):
    # "'>' not supported between instances of 'str' and 'int'"; a model file could set it
    with pytest.raises(TgdsError, match=rf"ReLoBRaLo {field} must be .*got 'a'"):
        ReLoBRaLo(**{field: "a"})


# -- tgds.save and tgds.load ------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    theory = Theory(
        variables=[
            Variable("x1", "m", bounds=(0, 1)),
            Variable("y", "K", bounds=(0, 2), role="target"),
        ],
    )
    df = pd.DataFrame({"x1": np.linspace(0, 1, 20)})
    df["y"] = 2 * df["x1"]
    model = TheoryGuidedRegressor(
        theory=theory, hidden=(4,), epochs=2, random_state=0, physics=None
    ).fit(df)
    return model, theory, df


def test_save_names_the_path_when_it_cannot_be_written(fitted, tmp_path):
    # the OSError named the temporary file ('.m.tgds.x8a1.tmp') and said nothing of the cause
    model, *_ = fitted
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("x")
    for path, message in [
        (tmp_path / "folder", "it is a folder; give a file path"),  # IsADirectoryError
        (tmp_path / "nope" / "m.tgds", "its folder '.*nope' is missing"),  # FileNotFoundError
        (tmp_path / "file" / "m.tgds", "its folder '.*file' is a file"),  # NotADirectoryError
    ]:
        with pytest.raises(DataError, match=rf"cannot write model file '{re.escape(str(path))}'"):
            tgds.save(model, path)
        with pytest.raises(DataError, match=message):
            tgds.save(model, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder"]  # no temporary file


def test_save_turns_an_os_error_into_a_data_error_naming_the_file(fitted, tmp_path, monkeypatch):
    model, *_ = fitted

    def refuse(path, *args):
        raise PermissionError(13, "Permission denied", str(path.parent / ".m.tgds.x8a1.tmp"))

    monkeypatch.setattr("tgds._persist.write_container", refuse)
    with pytest.raises(DataError, match=r"cannot write model file '.*m\.tgds': Permission denied"):
        tgds.save(model, tmp_path / "m.tgds")


def test_save_and_load_under_a_unicode_path(fitted, tmp_path):
    model, _, df = fitted
    path = tgds.save(model, tmp_path / "modèle 模型 ü.tgds")
    np.testing.assert_array_equal(tgds.load(path).predict(df), model.predict(df))


def test_load_of_a_folder_says_it_is_a_folder(tmp_path):
    with pytest.raises(DataError, match="is a folder"):  # was "does not exist"
        tgds.load(tmp_path)


@pytest.mark.parametrize(
    "change",
    [
        lambda meta: meta.pop("params"),  # KeyError: 'params'
        lambda meta: meta.pop("shapes"),  # KeyError: 'shapes'
        lambda meta: meta["fitted"].pop("features_"),  # KeyError: 'features_'
        lambda meta: meta.update(params=[1]),  # TypeError of dict()
        lambda meta: meta.update(**{"class": ["x"]}),  # TypeError: unhashable type
        lambda meta: meta.pop("params") and meta.update(**{"class": "PhysicsModelRegressor"}),
    ],
)
def test_load_of_missing_or_mistyped_metadata_is_a_data_error(fitted, tmp_path, change, forge_meta):
    model, *_ = fitted
    path = tgds.save(model, tmp_path / "m.tgds")
    forged = tmp_path / "forged.tgds"
    forged.write_bytes(forge_meta(path.read_bytes(), change))
    with pytest.raises(DataError, match=rf"model file '{re.escape(str(forged))}' has corrupt"):
        tgds.load(forged)


def test_load_checks_the_parameters_and_estimator_of_a_consistent_regressor(
    fitted, tmp_path, forge_meta
):
    model, theory, df = fitted
    wrapped = ConsistentRegressor(model, theory, repairs=[ProjectToBounds("y")], prefit=True).fit()
    path = tgds.save(wrapped, tmp_path / "c.tgds")
    np.testing.assert_array_equal(tgds.load(path).predict(df), wrapped.predict(df))
    # an unknown keyword went on to ConsistentRegressor(...): a bare TypeError
    forged = tmp_path / "f.tgds"
    forged.write_bytes(forge_meta(path.read_bytes(), lambda m: m["params"].update(x=1)))
    with pytest.raises(DataError, match=r"unknown parameters \['x'\] of ConsistentRegressor"):
        tgds.load(forged)

    def nest(meta):  # save() refuses to write one; a file could hold hundreds
        meta["estimator"] = json.loads(json.dumps(meta))

    forged = tmp_path / "n.tgds"
    forged.write_bytes(forge_meta(path.read_bytes(), nest))
    with pytest.raises(DataError, match="ConsistentRegressor around another ConsistentRegressor"):
        tgds.load(forged)
