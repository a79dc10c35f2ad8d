"""One experiment end to end: the stages composed per instruction (split -> fit -> score, repeated splits,
timing), what the CLI runs and the app's cache runs stage by stage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from instructlin.pipeline.compose import fit_and_evaluate, over_splits
from instructlin.pipeline.config import ExperimentConfig
from instructlin.pipeline.record import ExperimentResult, experiment_result
from instructlin.pipeline.specs import PackSpec
from instructlin.pipeline.stages import (
    DEFAULT_INSTRUCTIONS,
    InstructionResult,
    StageProgress,
    embed,
    encoder_metadata,
    load_data,
    open_encoder,
    open_pack,
    resolve_instructions,
    split_rows,
    time_pack_steps,
    time_steps,
)
from instructlin.sources.datasets import TextDataset
from instructlin.sources.protocols import TextEncoder

__all__ = ["DEFAULT_INSTRUCTIONS", "ExperimentConfig", "ExperimentResult", "InstructionResult", "StageProgress",
           "experiment_result", "run_experiment"]


def run_experiment(
    config: ExperimentConfig,
    *,
    encoder: TextEncoder | None = None,
    dataset: TextDataset | None = None,
    progress: StageProgress | None = None,
    map_callback: Callable | None = None,
) -> ExperimentResult:
    """data -> encoder -> embeddings -> split -> per instruction: map -> evaluation (-> timing)."""
    dataset = dataset if dataset is not None else load_data(spec=config.data_spec())
    resolve_instructions(config.instructions, dataset)  # bad aspects fail before the model loads
    pack = open_pack(spec=PackSpec(config.pack)) if config.pack else None
    encoder = pack or encoder or open_encoder(spec=config.encoder_spec())  # a pack describes its teacher
    embeddings = embed(spec=config.embedding_spec(), encoder=encoder, dataset=dataset, progress=progress)
    split = split_rows(spec=config.split_spec(), dataset=dataset, base=embeddings.base)
    results = []
    steps_each = 3 if config.measure_timing else 2
    total, stage = steps_each * len(embeddings.pairs), "fit, score" + (", time" if config.measure_timing else "")
    done = 0

    def step_done(_: str = "") -> None:  # one bar that moves after every step and closes at the end
        nonlocal done
        done += 1
        if progress:
            progress(stage, done, total)

    if progress:
        progress(stage, 0, total)
    for aspect, _ in embeddings.pairs:
        result = fit_and_evaluate(spec=config.evaluation_spec(aspect), dataset=dataset, embeddings=embeddings,
                                  split=split, metadata=encoder_metadata(encoder), callback=map_callback,
                                  step_done=step_done)
        if config.n_splits > 1:
            result = replace(result, splits=over_splits(spec=config.repeat_spec(aspect), dataset=dataset,
                                                        embeddings=embeddings, first=result))
        if config.measure_timing:
            if pack is not None:  # the teacher's recorded encode time, the fit as it ran, the map clocked
                timed = time_pack_steps(spec=config.timing_spec(aspect), pack=pack, embeddings=embeddings,
                                        split=split, fitted=result.fitted)
            else:
                timed = time_steps(spec=config.timing_spec(aspect), encoder=encoder, dataset=dataset,
                                   embeddings=embeddings, split=split)
            result = replace(result, timings=timed.steps)
            step_done()
        results.append(result)
    return experiment_result(config, encoder=encoder, dataset=dataset, embeddings=embeddings, split=split,
                             results=results)
