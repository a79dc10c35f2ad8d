"""What each step costs: encode, re-encode, fit and map, clocked like a benchmark."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from instructlin.pipeline.specs import TimingSpec, build_map
from instructlin.sources.protocols import TextEncoder
from instructlin.timing import Timing, time_call


def measure_timings(
    *,
    spec: TimingSpec,
    encoder: TextEncoder,
    texts: Sequence[str],
    base: np.ndarray,
    instructed: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    instruction: str,
) -> dict[str, Timing]:
    """Encode base / re-encode / fit / map of the test part, each the median of repeats.

    Encoding is clocked on at most ``spec.max_texts`` test texts and scaled to the whole part.
    """
    device, batch_size, repeats = encoder.device, spec.map.embeddings.batch_size, spec.repeats
    sample_texts = [texts[i] for i in test[: spec.max_texts]]
    scale = len(test) / len(sample_texts)
    sample = {"texts": len(sample_texts), "n_test": len(test), "batch_size": batch_size}

    def enc(instr: str | None):
        return lambda: encoder.encode(sample_texts, instruction=instr, batch_size=batch_size)

    encoder.encode(sample_texts[:batch_size], instruction=instruction)  # warm-up, one batch
    timings = {
        name: time_call(enc(instr), name=name, repeats=repeats, warmup=0, device=device,
                        params={**sample, "warmup": "one batch"}).scaled(scale)
        for name, instr in (("encode_base", None), ("encode_instructed", instruction))
    }
    fitter = build_map(spec.map)  # the estimator fit_map fits, fitted on the same rows, clocked
    fit_repeats = 1 if spec.map.method == "sgd" else max(repeats, 5)
    timings["fit"] = time_call(lambda: fitter.fit(base[train], instructed[train], X_unpaired=base),
                               name="fit", repeats=fit_repeats, warmup=0 if fit_repeats == 1 else 1,
                               device=device, params={"n_train": len(train)})
    timings["map"] = time_call(lambda: fitter.transform(base[test]), name="map", repeats=21,
                               device=device, params={"n_test": len(test)})
    return timings
