"""The record of a run: the stages' results gathered (``ExperimentResult``) and its JSON (``to_dict``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from instructlin.pipeline.config import ExperimentConfig
from instructlin.pipeline.report import amortised_inputs, marginal_cost, over_tightening
from instructlin.pipeline.stage_results import Embeddings, InstructionResult, Split
from instructlin.sources.datasets import TextDataset
from instructlin.sources.packs import Pack
from instructlin.sources.protocols import TextEncoder
from instructlin.timing import pipeline_costs, speedup_map_only

__all__ = ["ExperimentResult", "experiment_record", "experiment_result", "map_record"]


@dataclass(frozen=True)
class ExperimentResult:
    """All arrays and numbers of a run; ``to_dict`` is the CLI's JSON."""

    config: ExperimentConfig
    encoder_description: str  # what ran, in words (model, device, template, or the pack)
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

    def instruction(self, aspect: str) -> InstructionResult:
        """The result of the instruction for ``aspect``."""
        return next(r for r in self.instructions if r.aspect == aspect)

    def cross_instruction_matrix(self) -> dict[str, dict[str, float]]:
        """V-measure (mean) of each instruction's mapped test embeddings against each labelling."""
        return {
            r.aspect: {label: s.mapped.mean for label, s in r.scores.items()}
            for r in self.instructions
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON record (see :func:`experiment_record`)."""
        return experiment_record(self)


def experiment_result(
    config: ExperimentConfig, *, encoder: TextEncoder | Pack, dataset: TextDataset, embeddings: Embeddings,
    split: Split, results: Sequence[InstructionResult],
) -> ExperimentResult:
    """The stages' results gathered into one record (the CLI and the app both build it here)."""
    return ExperimentResult(config, encoder.describe(), str(encoder.device), int(encoder.dim), dataset,
                            split.train, split.test, embeddings.base, list(results))


def map_record(result: InstructionResult) -> dict[str, Any]:
    """What the map is and how it was chosen (the CV scores of every candidate)."""
    model = result.map
    return {"method": model.method_, "prior": model.prior_, "alpha": model.alpha_,
            "size": model.size_, "describe": model.describe(), "criterion": model.criterion,
            "cv_results": model.cv_results_}


def experiment_record(result: ExperimentResult) -> dict[str, Any]:
    """The CLI's JSON: the first instruction's headline numbers plus every instruction."""
    main = result.primary
    own = main.scores[main.aspect]
    n_train, n_test = int(len(result.train_idx)), int(len(result.test_idx))
    out: dict[str, Any] = {
        "encoder": result.encoder_description,
        "device": result.device,
        "dim": result.dim,
        "data": result.config.data,
        "n_train": n_train,
        "n_test": n_test,
        "selection": result.config.selection,
        "aspect": main.aspect,
        "instruction": main.instruction,
        "method": result.config.method,
        "alpha": main.map.alpha_,
        "map": map_record(main),
        "v_measure": {k: getattr(own, k).to_dict() for k in ("base", "mapped", "instructed")},
        "retention": own.retention,
        "gap_closed": own.gap_closed,
        "cosine": {"base": main.cosine_base["mean"], "mapped": main.cosine_mapped["mean"]},
        "cosine_median": {"base": main.cosine_base["median"], "mapped": main.cosine_mapped["median"]},
        "knn10_overlap": {"base": main.knn_overlap_base, "mapped": main.knn_overlap_mapped},
        "knn_accuracy": main.knn_accuracy,
        "ndcg10": main.ndcg10,
        "stand_in": main.stand_in.to_dict() if main.stand_in else None,
        "over_tightening": over_tightening(own.retention),
        "per_instruction": [
            {"aspect": r.aspect, "instruction": r.instruction, "map": r.map.describe(),
             "v_measure": {a: s.to_dict() for a, s in r.scores.items()},
             "knn_accuracy": r.knn_accuracy, "ndcg10": r.ndcg10,
             "stand_in": r.stand_in.to_dict() if r.stand_in else None,
             **({"splits": r.splits} if r.splits else {})}
            for r in result.instructions
        ],
        "cross_instruction_v_measure": result.cross_instruction_matrix(),
        "config": asdict(result.config),
    }
    if main.splits:
        out["splits"] = main.splits
    if main.timings:
        t = {k: v.median_s for k, v in main.timings.items()}
        out["timings_s"] = {k: t[k] for k in ("encode_base", "encode_instructed", "fit", "map")}
        out["timing_details"] = {k: v.params for k, v in main.timings.items()}
        out["speedup_map_vs_reencode"] = speedup_map_only(t["encode_instructed"], t["map"])
        out["marginal_speedup"] = marginal_cost(main.timings, n_train=n_train, n_test=n_test)
        n = result.config.n_instructions
        reencode, mapped = pipeline_costs(n, **amortised_inputs(main.timings, n_train=n_train,
                                                                n_test=n_test))
        out["speedup_amortised"] = {"n_instructions": n, "reencode_s": reencode,
                                    "instructlin_s": mapped, "speedup": reencode / mapped}
    return out
