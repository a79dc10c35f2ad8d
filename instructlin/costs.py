"""What each step costs: encode, re-encode, fit and map, clocked like a benchmark."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from instructlin.data import TextDataset
from instructlin.encoders import Encoder
from instructlin.mapping import InstructionMap
from instructlin.timing import Timing, time_call

if TYPE_CHECKING:
    from instructlin.experiment import ExperimentConfig


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
    timings["fit"] = time_call(lambda: fitter.fit(base[train], instructed[train], X_unpaired=base),
                               name="fit",
                               repeats=fit_repeats, warmup=0 if fit_repeats == 1 else 1,
                               device=device, params={"n_train": len(train)})
    timings["map"] = time_call(lambda: fitter.transform(base[test]), name="map", repeats=21,
                               device=device, params={"n_test": len(test)})
    return timings
