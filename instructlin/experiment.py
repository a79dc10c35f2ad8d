"""One experiment end to end (data, embeddings, map, scores, timings); the CLI and the app call it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from instructlin.cache import EmbeddingCache
from instructlin.costs import measure_timings
from instructlin.data import DataError, TextDataset, load_dataset, sample_per_class
from instructlin.encoders import Encoder, check_template, load_encoder
from instructlin.mapping import InstructionMap
from instructlin.metrics import (
    AspectScores,
    aspect_scores,
    cosine_summary,
    knn_accuracy,
    knn_overlap,
    ndcg_at_k,
)
from instructlin.params import check_experiment_numbers
from instructlin.report import mean_sd
from instructlin.sampling import select_train_rows
from instructlin.timing import Timing

logger = logging.getLogger(__name__)

DEFAULT_INSTRUCTIONS = {
    "topic": "Identify the topic of the given news article",
    "location": "Identify the location where the given news article happened",
}
#: ``progress(stage, done, total)``: stage is a short label such as "encode base".
StageProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ExperimentConfig:
    """Every choice of one run, hashable so the app can cache on it."""

    data: str = "demo"
    text_column: str = "text"
    label_columns: tuple[str, ...] | None = None
    #: (aspect, instruction) pairs; none means the default instruction of each label column,
    #: and an empty aspect means the first label column.
    instructions: tuple[tuple[str, str], ...] = ()
    encoder: str = "auto"
    instruction_template: str | None = None
    train_size: float | int = 0.2  # a fraction of the rows, or a count of texts
    selection: str = "random"  # random | kcenter | kmeans (label-free, over base embeddings)
    seed: int = 42
    method: str = "auto"
    map_params: tuple[tuple[str, Any], ...] = ()
    device: str = "auto"
    max_seq_length: int | None = None
    batch_size: int = 32
    cache_dir: str | None = None
    n_per_class: int | None = None
    drop_empty: bool = False
    n_kmeans_seeds: int = 10
    n_splits: int = 1  # seeds seed, seed+1, ...: mean and sd of retention, gap closed, cosine
    measure_timing: bool = True
    timing_repeats: int = 3
    timing_max_texts: int = 256
    n_instructions: int = 10

    def __post_init__(self) -> None:
        check_experiment_numbers(self)
        if self.instruction_template is not None:
            check_template(self.instruction_template)


@dataclass
class InstructionResult:
    """What one instruction's map achieved on the test part, scored against every labelling."""

    aspect: str
    instruction: str
    map: InstructionMap
    instructed: np.ndarray  # all rows
    mapped_test: np.ndarray
    scores: dict[str, AspectScores]
    cosine_base: dict[str, float]
    cosine_mapped: dict[str, float]
    knn_overlap_base: float
    knn_overlap_mapped: float
    knn_accuracy: dict[str, float] = field(default_factory=dict)  # base, mapped, instructed
    ndcg10: dict[str, float] = field(default_factory=dict)
    timings: dict[str, Timing] = field(default_factory=dict)
    splits: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExperimentResult:
    """All arrays and numbers of a run; ``to_dict`` is the CLI's JSON."""

    config: ExperimentConfig
    encoder: str
    device: str
    dim: int
    dataset: TextDataset
    train_idx: np.ndarray
    test_idx: np.ndarray
    base: np.ndarray  # all rows
    instructions: list[InstructionResult]

    @property
    def primary(self) -> InstructionResult:
        return self.instructions[0]

    def cross_instruction_matrix(self) -> dict[str, dict[str, float]]:
        """V-measure (mean) of each instruction's mapped test embeddings against each labelling."""
        return {
            r.aspect: {label: s.mapped.mean for label, s in r.scores.items()}
            for r in self.instructions
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON record (see :func:`instructlin.report.experiment_record`)."""
        from instructlin.report import experiment_record

        return experiment_record(self)


def resolve_instructions(config: ExperimentConfig, dataset: TextDataset) -> list[tuple[str, str]]:
    """The (aspect, instruction) pairs to run; defaults exist for topic and location."""
    if not dataset.aspects:
        raise DataError(
            f"{dataset.name} has no label column, and scoring needs labels to compare clusters with; "
            "add one (--label-column NAME), or use `instructlin embed` to encode texts alone."
        )
    if config.instructions:  # an empty aspect means the first label column
        pairs = [(aspect or dataset.aspects[0], instr) for aspect, instr in config.instructions]
    else:
        pairs = [(a, DEFAULT_INSTRUCTIONS[a]) for a in dataset.aspects if a in DEFAULT_INSTRUCTIONS]
        if not pairs:
            raise ValueError(
                f"No instruction given and no default for label columns {dataset.aspects}; "
                "pass an instruction (--instruction 'Identify the ... of the given text')."
            )
    for aspect, _ in pairs:
        if aspect not in dataset.labels:
            raise ValueError(
                f"Instruction aspect {aspect!r} is not a label column; have {dataset.aspects}."
            )
    return pairs


def load_experiment_data(config: ExperimentConfig) -> TextDataset:
    """The dataset of a config, subsampled per class when asked."""
    dataset = load_dataset(
        config.data, text_column=config.text_column,
        label_columns=list(config.label_columns) if config.label_columns else None,
        drop_empty=config.drop_empty, cache_dir=config.cache_dir,
    )
    if config.n_per_class:
        dataset = sample_per_class(dataset, config.n_per_class, seed=config.seed)
    return dataset


def encode_corpus(
    config: ExperimentConfig,
    encoder: Encoder,
    dataset: TextDataset,
    pairs: list[tuple[str, str]],
    *,
    progress: StageProgress | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Base embeddings and one instructed set per (aspect, instruction), all rows, via the cache."""
    cache = EmbeddingCache.in_cache_dir(config.cache_dir)

    def encode(instruction: str | None, stage: str) -> np.ndarray:
        hook = (lambda done, total: progress(stage, done, total)) if progress else None
        array, hit = cache.encode(encoder, dataset.texts, instruction=instruction,
                                  batch_size=config.batch_size, progress=hook)
        logger.info("%s: %s", stage, "from cache" if hit else f"encoded {len(dataset)} texts")
        return array

    base = encode(None, "encode base")
    instructed = {aspect: encode(instr, f"encode '{aspect}'") for aspect, instr in pairs}
    return base, instructed


def evaluate_instruction(
    config: ExperimentConfig,
    dataset: TextDataset,
    base: np.ndarray,
    instructed: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    *,
    aspect: str,
    instruction: str,
    metadata: dict[str, Any] | None = None,
    map_callback: Callable | None = None,
) -> InstructionResult:
    """Fit the map on the train rows, map the test rows, score them against every labelling."""
    model = InstructionMap(config.method, device=config.device, random_state=config.seed,
                           callback=map_callback, **dict(config.map_params))
    model.fit(base[train], instructed[train], X_unpaired=base,
              metadata={**(metadata or {}), "instruction": instruction, "aspect": aspect})
    mapped = model.transform(base[test])
    Y, B = instructed[test], base[test]
    scores = {
        label: aspect_scores(B, mapped, Y, dataset.labels[label][test], aspect=label,
                             n_seeds=config.n_kmeans_seeds)
        for label in dataset.aspects
    }
    views = {"base": B, "mapped": mapped, "instructed": Y}
    own = dataset.labels[aspect]
    return InstructionResult(
        aspect, instruction, model, instructed, mapped, scores,
        cosine_summary(B, Y), cosine_summary(mapped, Y), knn_overlap(B, Y), knn_overlap(mapped, Y),
        knn_accuracy={k: knn_accuracy(v, own[test], instructed[train], own[train])
                      for k, v in views.items()},
        ndcg10={k: ndcg_at_k(v, own[test]) for k, v in views.items()},
    )


def split_summary(
    config: ExperimentConfig, dataset: TextDataset, base: np.ndarray, instructed: np.ndarray,
    *, aspect: str, instruction: str,
) -> dict[str, Any]:
    """Retention, gap closed and cosine over ``n_splits`` seeded splits (one split is noise)."""
    seeds = [config.seed + i for i in range(config.n_splits)]
    rows = []
    for seed in seeds:
        train, test = select_train_rows(dataset, base, train_size=config.train_size,
                                        selection=config.selection, seed=seed)
        split_config = replace(config, seed=seed)
        one_label = replace(dataset, labels={aspect: dataset.labels[aspect]})
        r = evaluate_instruction(split_config, one_label, base, instructed,
                                 train, test, aspect=aspect, instruction=instruction)
        own = r.scores[aspect]
        rows.append((own.retention, own.gap_closed, r.cosine_mapped["mean"], r.map.describe()))
    retention, gap, cosine, maps = zip(*rows, strict=True)
    return {"n": len(seeds), "seeds": seeds, "retention": mean_sd(list(retention)),
            "gap_closed": mean_sd(list(gap)), "cosine": mean_sd(list(cosine)), "maps": list(maps)}


def encoder_metadata(encoder: Encoder) -> dict[str, str]:
    """What a saved map records about the encoder it was fitted for."""
    return {"encoder": encoder.model_id, "revision": encoder.revision, "template": encoder.template}


def run_experiment(
    config: ExperimentConfig,
    *,
    encoder: Encoder | None = None,
    dataset: TextDataset | None = None,
    progress: StageProgress | None = None,
    map_callback: Callable | None = None,
) -> ExperimentResult:
    """Encode base and instructed embeddings (cached), fit on the train part, score the test part."""
    dataset = dataset if dataset is not None else load_experiment_data(config)
    pairs = resolve_instructions(config, dataset)  # bad aspects fail before the model loads
    encoder = encoder or load_encoder(
        config.encoder, device=config.device, max_seq_length=config.max_seq_length,
        instruction_template=config.instruction_template,
    )
    base, instructed = encode_corpus(config, encoder, dataset, pairs, progress=progress)
    train, test = select_train_rows(dataset, base, train_size=config.train_size,
                                    selection=config.selection, seed=config.seed)
    results = []
    for aspect, instruction in pairs:
        if progress:
            progress(f"fit and score '{aspect}'", 0, 1)
        result = evaluate_instruction(
            config, dataset, base, instructed[aspect], train, test, aspect=aspect,
            instruction=instruction, metadata=encoder_metadata(encoder), map_callback=map_callback,
        )
        if config.n_splits > 1:
            if progress:
                progress(f"splits '{aspect}'", 0, 1)
            result.splits = split_summary(config, dataset, base, instructed[aspect], aspect=aspect,
                                          instruction=instruction)
        if config.measure_timing:
            if progress:
                progress(f"time '{aspect}'", 0, 1)
            result.timings = measure_timings(config, encoder, dataset, train, test, base,
                                             instructed[aspect], instruction)
        results.append(result)
        if progress:
            progress(f"fit and score '{aspect}'", 1, 1)
    return ExperimentResult(config, encoder.describe(), encoder.device, encoder.dim, dataset,
                            train, test, base, results)
