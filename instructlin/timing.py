"""Wall-clock timing done like a benchmark (warm-up, median of repeats, GPU synchronised), and peak memory."""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Timing:
    """The median of repeated runs of one step, with the parameters it ran under."""

    name: str
    median_s: float
    times_s: tuple[float, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def scaled(self, factor: float) -> Timing:
        """The same record with times multiplied (a sample's time extrapolated to all rows)."""
        return Timing(
            self.name,
            self.median_s * factor,
            tuple(t * factor for t in self.times_s),
            {**self.params, "scaled_by": factor},
        )


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def time_call(
    fn: Callable[[], Any],
    *,
    name: str,
    repeats: int = 3,
    warmup: int = 1,
    device: str = "cpu",
    params: dict[str, Any] | None = None,
) -> Timing:
    """Run ``fn`` ``warmup`` times unclocked, then ``repeats`` times clocked; keep the median."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}.")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        _synchronize(device)
        start = time.perf_counter()
        fn()
        _synchronize(device)
        times.append(time.perf_counter() - start)
    record = {"repeats": repeats, "warmup": warmup, "device": device, **(params or {})}
    return Timing(name, statistics.median(times), tuple(times), record)


def speedup_map_only(encode_instructed_s: float, map_s: float) -> float:
    """Re-encoding the test part with the instruction, over mapping its base embeddings."""
    return encode_instructed_s / max(map_s, 1e-12)


def pipeline_costs(
    n_instructions: int,
    *,
    encode_base_all_s: float,
    encode_instructed_all_s: float,
    encode_instructed_train_s: float,
    fit_s: float,
    map_s: float,
) -> tuple[float, float]:
    """Seconds for N instructions: (N full re-encodes, one base encode + N x (train encode + fit + map))."""
    reencode = n_instructions * encode_instructed_all_s
    mapped = encode_base_all_s + n_instructions * (encode_instructed_train_s + fit_s + map_s)
    return reencode, mapped


def peak_rss_mb(field: str = "VmHWM") -> float:
    """This process's peak resident memory so far (``field="VmRSS"``: the current one), in MB.

    Linux: /proc/self/status, because ``ru_maxrss`` of a forked and exec'd child (a Ray worker) keeps its
    parent's peak; elsewhere the peak from getrusage.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024
