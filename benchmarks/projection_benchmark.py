"""Which UMAP input keeps each panel honest: k-means V-measure on the 2-D planes against V on the embeddings.

Chosen on the demo: for Home's two instructions on the shipped pack (the location instruction scored against
location, the summary instruction against topic), the location paraphrase, and split seeds 42-45, each set
(base, mapped, instructed) is projected by :func:`instructlin.pipeline.projection.aligned_projection` with each
candidate's input (the raw vectors, or their top principal coordinates) and two UMAP seeds. Confirmed, with
``--teacher``, on corpora that were not used to choose: Reuters (country, topic) and SynGoalEx (topic, language,
style), EmbeddingGemma-300m at 128 tokens as ``teacher_benchmark.py`` encodes them, the default map on seeded
20 % splits. Each V is a mean over 60 k-means seeds (one run's V varies by 0.15-0.2 here).

    python benchmarks/projection_benchmark.py [--seeds 42 43 44 45] [--teacher DIR/embeddinggemma-300m]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from instructlin.core.mapping import InstructionMap  # noqa: E402
from instructlin.core.metrics import kmeans_v_measure  # noqa: E402
from instructlin.pipeline.projection import aligned_projection  # noqa: E402
from instructlin.pipeline.projection_store import demo_views  # noqa: E402
from instructlin.pipeline.sampling import train_test_indices  # noqa: E402
from instructlin.sources.packs import DEMO_PACK_DIR  # noqa: E402

#: Home's two instructions (ui/home.py), and the location question's paraphrase.
SECTIONS = (("location", "Identify the location where the given news article happened"),
            ("topic", "Summarize the article in one sentence"), ("location", "Where did the news happen?"))
#: UMAP's input: None = the vectors as they are (before 2026-12-06), else that many principal coordinates.
CANDIDATES = (None, 8, 12, 16, 24)
UMAP_SEEDS = (42, 0)
V_SEEDS = 60


def demo_cases(seeds):
    """(name, views, labels) for each demo check."""
    for seed in seeds:
        for aspect, instruction in SECTIONS:
            run = demo_views(DEMO_PACK_DIR, instruction, seed=seed)
            yield f"{aspect}:{instruction[:5]} s{seed}", run.views, run.labels[aspect]


def confirmation_cases(teacher: str):
    """(name, views, labels) for each research corpus and aspect the teacher benchmark encodes, splits 42 and 43."""
    from teacher_benchmark import SUBSETS, TEMPLATE, encoded_subset

    from instructlin.sources.encoders import load_encoder

    encoder = load_encoder(teacher, device="cpu", instruction_template=TEMPLATE, max_seq_length=128)
    for name, path, labels, n_per_class, pairs in SUBSETS:
        if not path.exists():
            continue
        dataset, base, pairs, instructed = encoded_subset(encoder, path, labels, n_per_class, pairs)
        for aspect, _ in pairs:
            for seed in (42, 43):
                train, test = train_test_indices(dataset, train_size=0.2, seed=seed)
                fitted = InstructionMap().fit(base[train], instructed[aspect][train], X_unpaired=base)
                views = {"base": base[test], "mapped": fitted.transform(base[test]).astype(np.float32),
                         "instructed": instructed[aspect][test]}
                yield f"{name}/{aspect} s{seed}", views, dataset.labels[aspect][test]


def compare(cases) -> list[str]:
    """One table row per candidate and UMAP seed: V(2-D) - V(full) of every panel, its largest, its mean size."""
    cases = [(name, views, labels, {s: kmeans_v_measure(X, labels, n_seeds=V_SEEDS).mean for s, X in views.items()})
             for name, views, labels in cases]
    rows = []
    for components in CANDIDATES:
        for umap_seed in UMAP_SEEDS:
            start, gaps, cells = time.perf_counter(), [], []
            for name, views, labels, full in cases:
                planes = aligned_projection(views, reference="instructed", seed=umap_seed,
                                            input_components=components)
                gap = [kmeans_v_measure(planes[s], labels, normalize=False, n_seeds=V_SEEDS).mean - full[s]
                       for s in views]
                gaps += gap
                cells.append(f"{name}: " + "/".join(f"{g:+.2f}" for g in gap))
            size = np.abs(gaps)
            rows.append(f"| {components or 'raw vectors'} | {umap_seed} | {size.max():.2f} | "
                        f"{int((size < 0.1).sum())}/{len(gaps)} | {size.mean():.3f} | {'; '.join(cells)} | "
                        f"{time.perf_counter() - start:.0f} |")
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44, 45])
    parser.add_argument("--teacher", help="the rebuilt embeddinggemma-300m folder, for the confirmation corpora")
    args = parser.parse_args()
    header = ("| UMAP input (principal coordinates) | UMAP seed | largest gap | within 0.1 | mean gap size | "
              "V(2-D) - V(full), base / mapped / instructed per case | s |\n|---|---|---|---|---|---|---|")
    print(f"### Demo (chosen here), V over {V_SEEDS} k-means seeds\n\n{header}", flush=True)
    compare(demo_cases(args.seeds))
    if args.teacher and Path(args.teacher).is_dir():
        print(f"\n### Confirmation corpora (not used to choose)\n\n{header}", flush=True)
        compare(confirmation_cases(args.teacher))


if __name__ == "__main__":
    main()
