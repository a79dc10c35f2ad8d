"""The Qwen3 code path of ``instructlin.sources.encoders``, offline, on a tiny random Qwen3 model.

A 2-layer, 32-wide ``Qwen3Model`` and a byte-level BPE tokenizer (trained here on a few sentences,
appending ``<|endoftext|>`` like Qwen's post-processor) are saved as a sentence-transformers folder with
last-token pooling and normalisation, the layout of Qwen/Qwen3-Embedding-0.6B. Nothing is downloaded.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")
pytest.importorskip("tokenizers")
transformers = pytest.importorskip("transformers")

from instructlin.sources.encoders import QWEN3_TEMPLATE, Encoder, load_encoder  # noqa: E402

HIDDEN = 32
EOT = "<|endoftext|>"
INSTRUCTION = "Classify the sentiment of the sentence"
PREFIX = f"Instruct: {INSTRUCTION}\nQuery:"
CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Instruct: Retrieve passages that answer the question\nQuery: what is an embedding?",
    "Sentence embeddings follow instructions when the model was tuned for them.",
    "A much longer sentence about cats, dogs and birds that play together in the garden all day.",
    "I loved this film, it was wonderful; I hated that one, it was awful.",
]
# Deliberately different lengths, so a batch needs padding.
TEXTS = [
    "ok",
    "I loved this film.",
    "cats and dogs",
    "A much longer sentence about cats, dogs and birds that play together in the garden.",
    "one two",
]


def _st_modules():
    try:  # sentence-transformers >= 6
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    except ImportError:  # older releases
        from sentence_transformers.models import Normalize, Pooling, Transformer
    return Transformer, Pooling, Normalize


def _tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, pre_tokenizers, processors, trainers
    from tokenizers.models import BPE

    tok = Tokenizer(BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=[EOT, "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer)
    eot_id = tok.token_to_id(EOT)
    tok.post_processor = processors.TemplateProcessing(
        single=f"$A {EOT}", pair=f"$A {EOT} $B {EOT}", special_tokens=[(EOT, eot_id)]
    )
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token=EOT, eos_token=EOT, unk_token="<unk>"
    )


@pytest.fixture(scope="module")
def tiny_qwen3(tmp_path_factory):
    """(sentence-transformers folder, the raw Qwen3Model, its tokenizer)."""
    from sentence_transformers import SentenceTransformer

    Transformer, Pooling, Normalize = _st_modules()
    tokenizer = _tiny_tokenizer()
    eot_id = tokenizer.convert_tokens_to_ids(EOT)
    config = transformers.Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        intermediate_size=64,
        max_position_embeddings=256,
        pad_token_id=eot_id,
        bos_token_id=eot_id,
        eos_token_id=eot_id,
    )
    torch.manual_seed(1234)
    model = transformers.Qwen3Model(config).eval()

    hf_dir = tmp_path_factory.mktemp("qwen3_hf")
    model.save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)

    st = SentenceTransformer(
        modules=[
            Transformer(str(hf_dir), max_seq_length=128),
            Pooling(HIDDEN, pooling_mode="lasttoken"),
            Normalize(),
        ],
        device="cpu",
    )
    st_dir = tmp_path_factory.mktemp("qwen3_st")
    st.save(str(st_dir))
    return st_dir, model, tokenizer


@pytest.fixture(scope="module")
def encoder(tiny_qwen3) -> Encoder:
    st_dir, _, _ = tiny_qwen3
    return load_encoder(str(st_dir), device="cpu")


def _manual(model, tokenizer, text: str) -> np.ndarray:
    """One text alone (no padding): the last token's hidden state, L2-normalised."""
    batch = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state[0, -1]
    return torch.nn.functional.normalize(hidden, dim=-1).numpy()


def test_fixture_is_a_qwen3_folder_with_eot_appended(tiny_qwen3):
    st_dir, _, tokenizer = tiny_qwen3
    assert '"model_type": "qwen3"' in (st_dir / "config.json").read_text(encoding="utf-8")
    ids = tokenizer("hello there")["input_ids"]
    assert ids[-1] == tokenizer.convert_tokens_to_ids(EOT)
    assert tokenizer.padding_side == "right"  # so the encoder, not the folder, makes it left


def test_load_encoder_recognises_qwen3(encoder):
    assert encoder.template == QWEN3_TEMPLATE == "Instruct: {instruction}\nQuery:"
    assert encoder.instruction_tuned is True
    assert encoder.model.tokenizer.padding_side == "left"
    assert encoder.format_prompt("Say X") == "Instruct: Say X\nQuery:"
    assert encoder.format_prompt(None) is None
    assert encoder.format_prompt("   ") is None
    assert encoder.dim == HIDDEN
    assert encoder.device == "cpu"
    assert "instruction-tuned" in encoder.describe()


def test_instruction_is_the_hand_written_prefix(encoder):
    base = encoder.encode(TEXTS)
    instructed = encoder.encode(TEXTS, instruction=INSTRUCTION)
    by_hand = encoder.encode([PREFIX + t for t in TEXTS])
    assert instructed.dtype == np.float32 and instructed.shape == (len(TEXTS), HIDDEN)
    np.testing.assert_allclose(instructed, by_hand, atol=1e-5)
    # the instruction changes every vector
    assert np.all(np.abs(instructed - base).max(axis=1) > 1e-3)
    # a blank instruction is no instruction
    np.testing.assert_allclose(encoder.encode(TEXTS, instruction="  "), base, atol=1e-6)
    # and the model really is normalised, as encode(normalize=True) promises
    np.testing.assert_allclose(np.linalg.norm(instructed, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("batch_size", [32, 2])
@pytest.mark.parametrize("instruction", [None, INSTRUCTION])
def test_left_padded_batch_matches_one_by_one_last_token(tiny_qwen3, encoder, batch_size, instruction):
    _, model, tokenizer = tiny_qwen3
    prefix = "" if instruction is None else PREFIX
    lengths = {len(tokenizer(prefix + t)["input_ids"]) for t in TEXTS}
    assert len(lengths) == len(TEXTS)  # every text needs a different amount of padding

    got = encoder.encode(TEXTS, instruction=instruction, batch_size=batch_size)
    want = np.stack([_manual(model, tokenizer, prefix + t) for t in TEXTS])
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_shapes_of_one_string_and_empty_list(encoder):
    one = encoder.encode(TEXTS[1], instruction=INSTRUCTION)
    assert one.shape == (HIDDEN,) and one.dtype == np.float32
    np.testing.assert_allclose(one, encoder.encode(TEXTS, instruction=INSTRUCTION)[1], atol=1e-5)
    empty = encoder.encode([], instruction=INSTRUCTION)
    assert empty.shape == (0, HIDDEN) and empty.dtype == np.float32
