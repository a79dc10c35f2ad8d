"""InstructionMap against planted truth, the estimator contract, and save / load."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from instructlin.core.mapping import InstructionMap
from instructlin.core.metrics import row_cosine
from instructlin.core.selection import DEFAULT_ALPHAS
from instructlin.core.solvers import alpha_scale as _alpha_scale


def planted(n=400, d=16, seed=0, noise=0.0, orthogonal=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    W = np.linalg.qr(rng.normal(size=(d, d)))[0] if orthogonal else rng.normal(size=(d, d)) / np.sqrt(d)
    b = rng.normal(size=d)
    return X, X @ W + b + noise * rng.normal(size=(n, d)), W, b


@pytest.mark.parametrize("prior", ["zero", "identity"])
def test_ridge_recovers_a_planted_affine_map(prior):
    X, Y, W, b = planted()
    model = InstructionMap("ridge", alpha=1e-6, prior=prior).fit(X, Y)
    np.testing.assert_allclose(model.coef_.T, W, atol=1e-4)
    np.testing.assert_allclose(model.intercept_, b, atol=1e-4)
    assert model.n_features_in_ == 16 and model.alpha_ == pytest.approx(1e-6)


def test_procrustes_recovers_a_planted_rotation():
    X, Y, W, b = planted(orthogonal=True)
    model = InstructionMap("procrustes").fit(X, Y)
    np.testing.assert_allclose(model.coef_.T, W, atol=1e-5)
    np.testing.assert_allclose(model.coef_ @ model.coef_.T, np.eye(16), atol=1e-5)
    np.testing.assert_allclose(model.transform(X), Y, atol=1e-4)


def test_identity_prior_with_huge_alpha_returns_the_base_up_to_a_shift():
    X, Y, _, _ = planted()
    model = InstructionMap("ridge", alpha=1e12, prior="identity").fit(X, Y)
    np.testing.assert_allclose(model.coef_, np.eye(16), atol=1e-6)
    shift = Y.mean(0) - X.mean(0)
    np.testing.assert_allclose(model.transform(X), X + shift, atol=1e-4)


def test_zero_prior_with_huge_alpha_predicts_the_mean():
    X, Y, _, _ = planted()
    model = InstructionMap("ridge", alpha=1e12, prior="zero").fit(X, Y)
    np.testing.assert_allclose(model.transform(X[:3]), np.tile(Y.mean(0), (3, 1)), atol=1e-4)


def test_auto_alpha_picks_small_alpha_for_clean_data_and_larger_for_noise():
    X, Y, _, _ = planted(n=60, d=16)
    clean = InstructionMap("ridge", prior="zero", criterion="cosine").fit(X, Y)
    Xn, Yn, _, _ = planted(n=40, d=32, noise=3.0)
    noisy = InstructionMap("ridge", prior="zero", criterion="cosine").fit(Xn, Yn)
    assert clean.alpha_ < noisy.alpha_
    assert clean.score(X, Y) > 0.999
    assert len(clean.cv_results_) == len(DEFAULT_ALPHAS) and {r["prior"] for r in clean.cv_results_} == {"zero"}
    chosen = max(clean.cv_results_, key=lambda r: r["cosine"])
    assert clean.alpha_ == pytest.approx(chosen["alpha"] * _alpha_scale(X))


def test_sgd_learns_the_map_and_reports_each_epoch():
    X, Y, _, _ = planted(n=300, d=8, seed=1)
    records = []
    model = InstructionMap("sgd", epochs=150, learning_rate=2e-2, patience=150, device="cpu",
                           callback=records.append).fit(X, Y)
    assert len(records) == 150 and records[-1].epoch == 150
    assert records[-1].val_loss < records[0].val_loss / 10
    assert model.score(X, Y) > 0.99


def test_sgd_callback_returning_false_stops_training():
    X, Y, _, _ = planted(n=100, d=8)
    seen = []
    InstructionMap("sgd", epochs=100, device="cpu", callback=lambda r: seen.append(r) or r.epoch < 3).fit(X, Y)
    assert [r.epoch for r in seen] == [1, 2, 3]


def test_not_fitted_and_shape_errors_name_the_problem():
    X, Y, _, _ = planted()
    with pytest.raises(NotFittedError):
        InstructionMap().transform(X)
    with pytest.raises(ValueError, match=r"X_base has shape \(400, 16\) and Y_instructed has shape \(399, 16\)"):
        InstructionMap().fit(X, Y[:-1])
    model = InstructionMap().fit(X, Y)
    with pytest.raises(ValueError, match="X has 8 features, but InstructionMap is expecting 16"):
        model.transform(X[:, :8])
    with pytest.raises(ValueError, match="needs equal dimensions"):
        InstructionMap("procrustes").fit(X, Y[:, :8])


def test_estimator_contract_get_params_and_clone():
    model = InstructionMap("procrustes", alpha=0.5)
    assert model.get_params()["method"] == "procrustes"
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "coef_")


def test_transform_accepts_torch_and_chunks():
    torch = pytest.importorskip("torch")
    X, Y, _, _ = planted()
    model = InstructionMap(chunk_size=7).fit(X, Y)
    out = model.transform(torch.as_tensor(X, dtype=torch.float32))
    assert isinstance(out, torch.Tensor) and out.shape == (400, 16)
    np.testing.assert_allclose(out.numpy(), model.transform(X), atol=1e-4)


def test_save_load_round_trip_and_refusals(tmp_path):
    X, Y, _, _ = planted()
    model = InstructionMap().fit(X, Y, metadata={"encoder": "enc-a", "instruction": "topic"})
    assert model.cv_results_ and model.method_ in ("ridge", "pca-ridge")
    folder = model.save(tmp_path / "map")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    loaded = InstructionMap.load(folder)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    assert loaded.metadata_["instruction"] == "topic" and loaded.alpha_ == model.alpha_
    assert loaded.describe() == model.describe() and loaded.cv_results_ == model.cv_results_
    saved = json.loads((folder / "config.json").read_text())["fitted"]
    assert saved["method"] == model.method_ and len(saved["cv_results"]) == len(model.cv_results_)
    with pytest.raises(ValueError, match="takes d=16 embeddings but the data has d=384"):
        loaded.check_compatible(dim=384)
    with pytest.raises(ValueError, match="fitted for encoder 'enc-a', not 'enc-b'"):
        loaded.check_compatible(encoder_id="enc-b")
    config = json.loads((folder / "config.json").read_text())
    config["format_version"] = 99
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="map format 99"):
        InstructionMap.load(folder)
    with pytest.raises(FileNotFoundError, match="is not a saved map"):
        InstructionMap.load(tmp_path)


def test_row_cosine_handles_a_zero_row():
    A = np.array([[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(row_cosine(A, A), [1.0, 0.0])


def test_parameter_rules_cover_every_parameter_and_refuse_bad_values():
    from instructlin.core.params import RULES

    assert set(RULES) == set(InstructionMap().get_params())
    X = np.random.default_rng(0).normal(size=(20, 4))
    with pytest.raises(ValueError, match=r"chunk_size=-1 is invalid; it must be an integer >= 1"):
        InstructionMap("ridge", chunk_size=-1).fit(X, X)
    with pytest.raises(ValueError, match=r"alpha=-0.5 is invalid"):
        InstructionMap("ridge", alpha=-0.5).fit(X, X)
    fitted = InstructionMap("ridge", alpha=1.0).fit(X, X)
    fitted.set_params(chunk_size=0)  # set after fitting: transform refuses it too
    with pytest.raises(ValueError, match=r"chunk_size=0 is invalid"):
        fitted.transform(X)
