"""Measure the speed-up Home leads with, and record it in the shipped pack, by hand, never in CI.

``python benchmarks/record_speedup.py --teacher DIR/embeddinggemma-300m [--record-pack]``

Home's setting: the demo corpus, the location instruction, the 20 % split Home fits on (stratified by
topic and location together, seed 42). It clocks the teacher encoding those training texts (once, after a
warm-up), the default map's fit on them (median of 5, selection included) and mapping the other 80 %
(median of 21). Run it on an idle machine: the figure is meant to be reproducible. ``--record-pack``
stores it in ``data/teacher/manifest.json``, where Home reads it.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

from instructlin.core.mapping import InstructionMap
from instructlin.pipeline.experiment import ExperimentConfig
from instructlin.pipeline.recorded_costs import RecordedSpeedup, write_recorded_speedup
from instructlin.pipeline.stages import DEFAULT_INSTRUCTIONS, load_data, split_rows
from instructlin.sources.encoders import load_encoder
from instructlin.sources.packs import DEMO_PACK_DIR, read_pack
from instructlin.timing import time_call

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_benchmark import table  # noqa: E402


def measure(teacher: str) -> RecordedSpeedup:
    """Home's default setting, clocked on this machine's CPU."""
    load = os.getloadavg()[0]  # said with the figure: it is only reproducible on an idle machine
    instruction = DEFAULT_INSTRUCTIONS["location"]
    config = ExperimentConfig(data="demo")
    dataset = load_data(spec=config.data_spec())
    pack = read_pack(DEMO_PACK_DIR)
    pack.check_texts(dataset.texts, name="the demo corpus")
    base, instructed = pack.load(None), pack.load(instruction)
    split = split_rows(spec=config.split_spec(), dataset=dataset, base=base)
    texts = [dataset.texts[i] for i in split.train]
    encoder = load_encoder(teacher, device="cpu", instruction_template=pack.template,
                           max_seq_length=pack.max_seq_length)
    encoder.encode(texts[:4], instruction=instruction)  # warm-up: the first call pays one-off costs
    encode = time_call(lambda: encoder.encode(texts, instruction=instruction), name="encode", repeats=1, warmup=0)
    model = InstructionMap()
    fit = time_call(lambda: model.fit(base[split.train], instructed[split.train], X_unpaired=base), name="fit",
                    repeats=5)
    mapping = time_call(lambda: model.transform(base[split.test]), name="map", repeats=21)
    return RecordedSpeedup(
        train_texts=len(split.train), n_texts=len(dataset), teacher_seconds_per_text=encode.median_s / len(texts),
        fit_seconds=fit.median_s, map_seconds=mapping.median_s,
        split=f"20 % ({len(split.train)} texts), stratified by topic and location together, seed {config.seed}",
        measured=f"benchmarks/record_speedup.py on {datetime.date.today().isoformat()}, {os.cpu_count()} CPU "
                 f"cores (load {load:.1f} at the start), {pack.name} fp32 at {pack.max_seq_length} tokens, location "
                 "instruction")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teacher", required=True, help="the rebuilt embeddinggemma-300m folder")
    parser.add_argument("--record-pack", action="store_true", help="store the figure in data/teacher/manifest.json")
    args = parser.parse_args()
    if not Path(args.teacher).is_dir():
        print(f"skipped: no model folder at {args.teacher} (rebuild it with "
              "../shared/teachers/embeddinggemma-300m/rebuild.py)")
        return
    r = measure(args.teacher)
    print("\n".join(table("Speed-up of a new instruction, Home's setting (demo, location)",
                          ["teacher texts", "corpus", "teacher s/text", "re-encode all, s", "fit s", "map the rest",
                           "instructlin, s", "speed-up"],
                          [[str(r.train_texts), str(r.n_texts), f"{r.teacher_seconds_per_text:.3f}",
                            f"{r.reencode_seconds:.1f}", f"{r.fit_seconds:.3f}", f"{r.map_seconds * 1e3:.2f} ms",
                            f"{r.instructlin_seconds:.1f}", f"{r.speedup:.1f}x"]],
                          note=f"{r.split}; {r.measured}.")))
    if args.record_pack:
        write_recorded_speedup(DEMO_PACK_DIR, r)
        print(f"recorded in {DEMO_PACK_DIR / 'manifest.json'}")


if __name__ == "__main__":
    main()
