"""One experiment end to end (data, embeddings, map, scores, timings); the CLI and the app call it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from instructlin.cache import EmbeddingCache
from instructlin.data import TextDataset, load_dataset, sample_per_class, train_test_indices
from instructlin.encoders import Encoder, load_encoder
from instructlin.mapping import InstructionMap
from instructlin.metrics import AspectScores, aspect_scores, cosine_summary, knn_overlap
from instructlin.timing import Timing, pipeline_costs, speedup_map_only, time_call

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
    train_fraction: float = 0.2
    seed: int = 42
    method: str = "ridge"
    map_params: tuple[tuple[str, Any], ...] = ()
    device: str = "auto"
    max_seq_length: int | None = None
    batch_size: int = 32
    cache_dir: str | None = None
    n_per_class: int | None = None
    drop_empty: bool = False
    n_kmeans_seeds: int = 10
    measure_timing: bool = True
    timing_repeats: int = 3
    timing_max_texts: int = 256
    n_instructions: int = 10


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
    timings: dict[str, Timing] = field(default_factory=dict)


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
        """The JSON record: the first instruction's headline numbers plus every instruction."""
        main = self.primary
        own = main.scores[main.aspect]
        out: dict[str, Any] = {
            "encoder": self.encoder,
            "device": self.device,
            "dim": self.dim,
            "data": self.config.data,
            "n_train": int(len(self.train_idx)),
            "n_test": int(len(self.test_idx)),
            "aspect": main.aspect,
            "instruction": main.instruction,
            "method": self.config.method,
            "alpha": main.map.alpha_,
            "v_measure": {k: getattr(own, k).to_dict() for k in ("base", "mapped", "instructed")},
            "retention": own.retention,
            "gap_closed": own.gap_closed,
            "cosine": {"base": main.cosine_base["mean"], "mapped": main.cosine_mapped["mean"]},
            "cosine_median": {"base": main.cosine_base["median"],
                              "mapped": main.cosine_mapped["median"]},
            "knn10_overlap": {"base": main.knn_overlap_base, "mapped": main.knn_overlap_mapped},
            "per_instruction": [
                {"aspect": r.aspect, "instruction": r.instruction,
                 "v_measure": {a: s.to_dict() for a, s in r.scores.items()}}
                for r in self.instructions
            ],
            "cross_instruction_v_measure": self.cross_instruction_matrix(),
            "config": asdict(self.config),
        }
        if main.timings:
            t = {k: v.median_s for k, v in main.timings.items()}
            out["timings_s"] = {k: t[k] for k in ("encode_base", "encode_instructed", "fit", "map")}
            out["timing_details"] = {k: v.params for k, v in main.timings.items()}
            out["speedup_map_vs_reencode"] = speedup_map_only(t["encode_instructed"], t["map"])
            reencode, mapped = pipeline_costs(self.config.n_instructions, **amortised_inputs(
                main.timings, n_train=len(self.train_idx), n_test=len(self.test_idx)))
            out["speedup_amortised"] = {"n_instructions": self.config.n_instructions,
                                        "reencode_s": reencode, "instructlin_s": mapped,
                                        "speedup": reencode / mapped}
        return out


def amortised_inputs(timings: dict[str, Timing], *, n_train: int, n_test: int) -> dict[str, float]:
    """Per-corpus costs from the test-part timings (encoding time scales with the row count)."""
    per_text_base = timings["encode_base"].median_s / n_test
    per_text_instr = timings["encode_instructed"].median_s / n_test
    return {
        "encode_base_all_s": per_text_base * (n_train + n_test),
        "encode_instructed_all_s": per_text_instr * (n_train + n_test),
        "encode_instructed_train_s": per_text_instr * n_train,
        "fit_s": timings["fit"].median_s,
        "map_s": timings["map"].median_s,
    }


def resolve_instructions(config: ExperimentConfig, dataset: TextDataset) -> list[tuple[str, str]]:
    """The (aspect, instruction) pairs to run; defaults exist for topic and location."""
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
    model.fit(base[train], instructed[train],
              metadata={**(metadata or {}), "instruction": instruction, "aspect": aspect})
    mapped = model.transform(base[test])
    Y, B = instructed[test], base[test]
    scores = {
        label: aspect_scores(B, mapped, Y, dataset.labels[label][test], aspect=label,
                             n_seeds=config.n_kmeans_seeds)
        for label in dataset.aspects
    }
    return InstructionResult(
        aspect, instruction, model, instructed, mapped, scores,
        cosine_summary(B, Y), cosine_summary(mapped, Y), knn_overlap(B, Y), knn_overlap(mapped, Y),
    )


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
    encoder = encoder or load_encoder(
        config.encoder, device=config.device, max_seq_length=config.max_seq_length,
        instruction_template=config.instruction_template,
    )
    pairs = resolve_instructions(config, dataset)
    train, test = train_test_indices(dataset, train_fraction=config.train_fraction, seed=config.seed)
    base, instructed = encode_corpus(config, encoder, dataset, pairs, progress=progress)
    results = []
    for aspect, instruction in pairs:
        if progress:
            progress(f"fit and score '{aspect}'", 0, 1)
        result = evaluate_instruction(
            config, dataset, base, instructed[aspect], train, test, aspect=aspect,
            instruction=instruction, metadata=encoder_metadata(encoder), map_callback=map_callback,
        )
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


def measure_timings(
    config: ExperimentConfig, encoder: Encoder, dataset: TextDataset, train: np.ndarray,
    test: np.ndarray, base: np.ndarray, instructed: np.ndarray, instruction: str,
) -> dict[str, Timing]:
    """Encode base / re-encode / fit / map of the test part, each the median of repeats.

    Encoding is clocked on at most ``timing_max_texts`` test texts and scaled to the whole part.
    """
    device = encoder.device
    texts = [dataset.texts[i] for i in test[: config.timing_max_texts]]
    scale = len(test) / len(texts)
    sample = {"texts": len(texts), "n_test": len(test), "batch_size": config.batch_size}

    def enc(instr: str | None):
        return lambda: encoder.encode(texts, instruction=instr, batch_size=config.batch_size)

    repeats = config.timing_repeats
    encoder.encode(texts[: config.batch_size], instruction=instruction)  # warm-up, one batch
    timings = {
        name: time_call(enc(instr), name=name, repeats=repeats, warmup=0, device=device,
                        params={**sample, "warmup": "one batch"}).scaled(scale)
        for name, instr in (("encode_base", None), ("encode_instructed", instruction))
    }
    params = dict(config.map_params)
    fitter = InstructionMap(config.method, device=config.device, random_state=config.seed,
                            **params)
    fit_repeats = 1 if config.method == "sgd" else max(repeats, 5)
    timings["fit"] = time_call(lambda: fitter.fit(base[train], instructed[train]), name="fit",
                               repeats=fit_repeats, warmup=0 if fit_repeats == 1 else 1,
                               device=device, params={"n_train": len(train)})
    timings["map"] = time_call(lambda: fitter.transform(base[test]), name="map", repeats=21,
                               device=device, params={"n_test": len(test)})
    return timings
