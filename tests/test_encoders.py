"""The offline default encoder (real MiniLM) and the encoder registry."""

from __future__ import annotations

import numpy as np
import pytest

from instructlin.errors import EncoderUnavailableError
from instructlin.sources.encoders import load_encoder, resolve_device, template_for

from .reliability import Case, params

TEXTS = ["The central bank raised interest rates.", "The striker scored twice in the final."]
INSTRUCTION = "Identify the topic of the given news article"


def test_encode_shapes_and_normalisation(minilm):
    out = minilm.encode(TEXTS)
    assert out.shape == (2, 384) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert minilm.encode(TEXTS[0]).shape == (384,)
    assert minilm.encode([]).shape == (0, 384)


def test_instruction_changes_the_vector_and_equals_the_hand_prefix(minilm):
    base = minilm.encode(TEXTS)
    instructed = minilm.encode(TEXTS, instruction=INSTRUCTION)
    assert np.abs(base - instructed).max() > 1e-3
    by_hand = minilm.encode([minilm.template.format(instruction=INSTRUCTION) + t for t in TEXTS])
    np.testing.assert_allclose(instructed, by_hand, atol=1e-5)


def test_batching_and_progress_do_not_change_the_result(minilm):
    seen = []
    texts = TEXTS * 3 + ["short"]
    batched = minilm.encode(texts, batch_size=2, progress=lambda d, t: seen.append((d, t)))
    np.testing.assert_allclose(batched, minilm.encode(texts, batch_size=32), atol=1e-5)
    assert seen[-1] == (7, 7) and len(seen) == 4


def test_minilm_says_it_is_not_instruction_tuned(minilm):
    assert minilm.instruction_tuned is False
    assert "NOT instruction-tuned" in minilm.describe() and minilm.device == "cpu"


def test_templates_and_bad_template(minilm):
    assert template_for("Qwen/Qwen3-Embedding-0.6B") == "Instruct: {instruction}\nQuery:"
    with pytest.raises(ValueError, match="no '\\{instruction\\}' placeholder"):
        type(minilm)(minilm.model, model_id="x", revision="1", template="no placeholder")


TEMPLATE_CASES = [
    Case("template without {instruction}", "load_encoder / Encoder.template", "ValueError: names the placeholder",
         {"template": "Q: ", "match": "no '\\{instruction\\}' placeholder"}),
    Case("template with {0}", "load_encoder / Encoder.template", "ValueError: only {instruction} is filled in",
         {"template": "{0}: {instruction}", "match": "placeholder \\{0\\}"}),
    Case("template with an unclosed brace", "load_encoder / Encoder.template", "ValueError: does not format",
         {"template": "{instruction", "match": "does not format"}),
]


@pytest.mark.parametrize("case", params(TEMPLATE_CASES))
def test_bad_template_is_refused_whichever_way_it_is_set(case, minilm):
    with pytest.raises(ValueError, match=case.data["match"]):
        load_encoder("not/a-model-that-exists", instruction_template=case.data["template"])
    before = minilm.template
    with pytest.raises(ValueError, match=case.data["match"]):
        minilm.template = case.data["template"]
    assert minilm.template == before


@pytest.mark.parametrize(("cuda", "mps", "expected"), [
    (True, True, "cuda"),  # cuda first, even where mps is present too
    (False, True, "mps"),
    (False, False, "cpu"),
    (False, None, "cpu"),  # a torch without the mps backend at all
])
def test_device_auto_prefers_cuda_then_mps_then_cpu_and_refuses_missing_cuda(monkeypatch, cuda, mps, expected):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    if mps is None:
        monkeypatch.delattr(torch.backends, "mps")
    else:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert resolve_device("auto") == expected
    assert resolve_device() == expected  # auto is the default
    assert resolve_device("cpu") == "cpu"
    if cuda:
        assert resolve_device("cuda") == "cuda"
    else:
        with pytest.raises(EncoderUnavailableError, match="CUDA is not available"):
            resolve_device("cuda")
    if mps:
        assert resolve_device("mps") == "mps"
    else:
        with pytest.raises(EncoderUnavailableError, match="MPS backend is not available"):
            resolve_device("mps")


def test_qwen3_offline_fails_fast_and_auto_falls_back(offline_hub):
    with pytest.raises(EncoderUnavailableError, match="Qwen/Qwen3-Embedding-0.6B.*the offline default encoder, minilm"):
        load_encoder("qwen3", device="cpu")
    assert offline_hub.downloads == [] and offline_hub.probes, "the hub probe was not what said no"
    assert max(offline_hub.probes) <= 5  # fails fast: the probe waits seconds, not a download's minutes
    fallback = load_encoder("auto", device="cpu")
    assert fallback.model_id.endswith("all-MiniLM-L6-v2") and "offline fallback" in fallback.note
    assert fallback.dim == 384 and fallback.instruction_tuned is False
    assert offline_hub.downloads == [] and len(offline_hub.probes) >= 2  # auto tried Qwen3 first, same probe
