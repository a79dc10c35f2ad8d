"""The pipeline's stages: each a function of its spec (and the results it reads) returning a frozen result.

data -> encoder -> embeddings -> split -> map -> evaluation (-> timing). No stage calls another's loop:
``instructlin.pipeline.compose`` composes them (split -> fit -> score, repeated splits, learning curves),
and ``run_experiment`` (the CLI), the benchmarks and the app's cache (one wrapper per stage, keyed by the
spec) call those same functions, so their numbers cannot drift apart. See docs/architecture.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

import numpy as np

from instructlin.core.metrics import cosine_summary, knn_accuracy, knn_overlap, labelling_scores, ndcg_at_k
from instructlin.errors import DataError
from instructlin.pipeline.costs import measure_timings
from instructlin.pipeline.sampling import select_train_rows
from instructlin.pipeline.specs import (
    DataSpec,
    EmbeddingSpec,
    EncoderSpec,
    EvaluationSpec,
    MapSpec,
    PackSpec,
    SplitSpec,
    TimingSpec,
    build_map,
)
from instructlin.pipeline.stage_results import Embeddings, FittedMap, InstructionResult, Split, Timings
from instructlin.pipeline.standin import stand_in
from instructlin.sources.cache import EmbeddingCache, embedding_key
from instructlin.sources.datasets import TextDataset, load_dataset, sample_per_class
from instructlin.sources.packs import Pack, pack_timings, read_pack
from instructlin.sources.protocols import TextEncoder

logger = logging.getLogger(__name__)

DEFAULT_INSTRUCTIONS = {
    "topic": "Identify the topic of the given news article",
    "location": "Identify the location where the given news article happened",
}
#: ``progress(stage, done, total)``: stage is a short label such as "encode base".
StageProgress = Callable[[str, int, int], None]


def load_data(*, spec: DataSpec) -> TextDataset:
    """The dataset of a spec, subsampled per class when asked."""
    dataset = load_dataset(spec.data, text_column=spec.text_column,
                           label_columns=list(spec.label_columns) if spec.label_columns else None,
                           drop_empty=spec.drop_empty, cache_dir=spec.cache_dir)
    if spec.n_per_class:
        dataset = sample_per_class(dataset, spec.n_per_class, seed=42 if spec.seed is None else spec.seed)
    return dataset


def open_encoder(*, spec: EncoderSpec) -> TextEncoder:
    """The encoder of a spec, loaded (a named one, a local folder or a hub id)."""
    from instructlin.sources.encoders import load_encoder

    return load_encoder(spec.name, device=spec.device, max_seq_length=spec.max_seq_length,
                        instruction_template=spec.instruction_template)


def open_pack(*, spec: PackSpec) -> Pack:
    """The pack of a spec, its manifest read and checked (arrays are verified when read)."""
    return read_pack(spec.folder)


def encoder_metadata(encoder: TextEncoder | Pack) -> dict[str, str]:
    """What a saved map records about the encoder it was fitted for."""
    return {"encoder": encoder.model_id, "revision": encoder.revision, "template": encoder.template}


def resolve_instructions(
    instructions: tuple[tuple[str, str], ...], dataset: TextDataset
) -> tuple[tuple[str, str], ...]:
    """The (aspect, instruction) pairs to run; defaults exist for topic and location."""
    if not dataset.aspects:
        raise DataError(
            f"{dataset.name} has no label column, and scoring needs labels to compare clusters with; "
            "add one (--label-column NAME), or use `instructlin embed` to encode texts alone."
        )
    if instructions:  # an empty aspect means the first label column
        pairs = [(aspect or dataset.aspects[0], instr) for aspect, instr in instructions]
    else:
        pairs = [(a, DEFAULT_INSTRUCTIONS[a]) for a in dataset.aspects if a in DEFAULT_INSTRUCTIONS]
        if not pairs:
            raise ValueError(
                f"No instruction given and no default for label columns {dataset.aspects}; "
                "pass an instruction (--instruction 'Identify the ... of the given text')."
            )
    for aspect, _ in pairs:
        if aspect not in dataset.labels:
            raise ValueError(f"Instruction aspect {aspect!r} is not a label column; have {dataset.aspects}.")
    return tuple(pairs)


def embed_from_pack(*, spec: EmbeddingSpec, dataset: TextDataset) -> Embeddings:
    """Base and instructed embeddings read from the spec's pack: no encoder; files and texts checked."""
    pack = open_pack(spec=spec.encoder)  # type: ignore[arg-type]
    pack.check_texts(dataset.texts, name=dataset.name)
    pairs = resolve_instructions(spec.instructions, dataset)
    return Embeddings(pairs, pack.load(None), {aspect: pack.load(instr) for aspect, instr in pairs})


def embed(
    *, spec: EmbeddingSpec, encoder: TextEncoder | None = None, dataset: TextDataset,
    progress: StageProgress | None = None,
) -> Embeddings:
    """Base embeddings and one instructed set per instruction, all rows, through the disk cache (or a pack)."""
    if isinstance(spec.encoder, PackSpec):
        return embed_from_pack(spec=spec, dataset=dataset)
    if encoder is None:
        raise ValueError("embed needs an encoder for an EncoderSpec; open it with open_encoder(spec=spec.encoder).")
    pairs = resolve_instructions(spec.instructions, dataset)
    cache = EmbeddingCache.in_cache_dir(spec.data.cache_dir)

    def encode(instruction: str | None, stage: str) -> np.ndarray:
        hook = (lambda done, total: progress(stage, done, total)) if progress else None
        array, hit = cache.encode(encoder, dataset.texts, instruction=instruction,
                                  batch_size=spec.batch_size, progress=hook)
        logger.info("%s: %s", stage, "from cache" if hit else f"encoded {len(dataset)} texts")
        array = np.array(array, dtype=np.float32)  # an owned copy, frozen: cached results are shared
        array.setflags(write=False)
        return array

    base = encode(None, "encode base")
    return Embeddings(pairs, base, {aspect: encode(instr, f"encode '{aspect}'") for aspect, instr in pairs})


def stored_sets(*, spec: EmbeddingSpec, encoder: TextEncoder | None, dataset: TextDataset) -> dict[str, bool]:
    """Which embedding sets (``base``, then each aspect) the disk cache already holds for this spec."""
    if isinstance(spec.encoder, PackSpec):  # a pack holds them all (its files are checked when read)
        return {label: True for label in ("base", *(a for a, _ in resolve_instructions(spec.instructions, dataset)))}
    cache = EmbeddingCache.in_cache_dir(spec.data.cache_dir)
    wanted = [("base", None), *resolve_instructions(spec.instructions, dataset)]
    return {label: cache.path_for(embedding_key(encoder, dataset.texts, instr)).exists() for label, instr in wanted}


def split_rows(*, spec: SplitSpec, dataset: TextDataset, base: np.ndarray | None = None) -> Split:
    """Train and test rows; label-free selections choose over the base embeddings."""
    train, test = select_train_rows(dataset, base, train_size=spec.train_size, selection=spec.selection,
                                    seed=spec.seed)
    return Split(train, test)


def fit_map(
    *, spec: MapSpec, embeddings: Embeddings, split: Split, metadata: Mapping[str, str] | None = None,
    callback: Callable | None = None,
) -> FittedMap:
    """Fit the map on the train rows (the whole corpus's base rows as its unpaired basis), map the test rows."""
    instruction = embeddings.instruction(spec.aspect)
    base, instructed = embeddings.base, embeddings.instructed[spec.aspect]
    model = build_map(spec, callback=callback)
    start = time.perf_counter()
    model.fit(base[split.train], instructed[split.train], X_unpaired=base,
              metadata={**(metadata or {}), "instruction": instruction, "aspect": spec.aspect})
    fit_s = time.perf_counter() - start
    return FittedMap(spec.aspect, instruction, model, model.transform(base[split.test]), fit_s)


def evaluate(
    *, spec: EvaluationSpec, dataset: TextDataset, embeddings: Embeddings, split: Split, fitted: FittedMap
) -> InstructionResult:
    """Score one fitted map on one split: its mapped test rows against every labelling, and as a stand-in.

    It fits nothing; repeated splits are a composition of the stages (``instructlin.pipeline.compose``)."""
    aspect, test, train = fitted.aspect, split.test, split.train
    instructed = embeddings.instructed[aspect]
    B, Y, mapped = embeddings.base[test], instructed[test], fitted.mapped_test
    scores = labelling_scores(B, mapped, Y, {label: dataset.labels[label][test] for label in dataset.aspects},
                              n_seeds=spec.n_kmeans_seeds)
    views = {"base": B, "mapped": mapped, "instructed": Y}
    own = dataset.labels[aspect]
    return InstructionResult(
        aspect, fitted.instruction, fitted.model, instructed, mapped, scores,
        cosine_summary(B, Y), cosine_summary(mapped, Y), knn_overlap(B, Y), knn_overlap(mapped, Y),
        knn_accuracy={k: knn_accuracy(v, own[test], instructed[train], own[train]) for k, v in views.items()},
        ndcg10={k: ndcg_at_k(v, own[test]) for k, v in views.items()},
        stand_in=stand_in(B, mapped, Y, own[test], seed=spec.map.seed), fit_s=fitted.fit_s,
    )


def time_steps(
    *, spec: TimingSpec, encoder: TextEncoder, dataset: TextDataset, embeddings: Embeddings, split: Split
) -> Timings:
    """Clock encode, re-encode, fit and map for one instruction on the encoder's device."""
    aspect = spec.map.aspect
    steps = measure_timings(spec=spec, encoder=encoder, texts=dataset.texts, base=embeddings.base,
                            instructed=embeddings.instructed[aspect], train=split.train, test=split.test,
                            instruction=embeddings.instruction(aspect))
    return Timings(aspect, str(encoder.device), len(split.train), len(split.test), steps)


def time_pack_steps(
    *, spec: TimingSpec, pack: Pack, embeddings: Embeddings, split: Split, fitted: FittedMap
) -> Timings:
    """One instruction's costs on a pack, encoding nothing (see :func:`instructlin.sources.packs.pack_timings`)."""
    steps = pack_timings(pack, mapper=fitted.model, base_test=embeddings.base[split.test], n_train=len(split.train),
                         fit_s=fitted.fit_s)
    return Timings(spec.map.aspect, "cpu", len(split.train), len(split.test), steps)
