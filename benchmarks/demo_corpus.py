"""How the demo corpus clusters: base, each facet's instruction, and TF-IDF, against both labellings.

Run by hand: ``python benchmarks/demo_corpus.py [--encoder minilm]``; prints the Markdown table
recorded in ``data/README.md``. All 288 articles, k-means with k = 6, 10 seeds.
"""

from __future__ import annotations

import argparse

from instructlin.core.metrics import kmeans_v_measure
from instructlin.pipeline.experiment import DEFAULT_INSTRUCTIONS
from instructlin.sources.cache import EmbeddingCache
from instructlin.sources.datasets import load_demo
from instructlin.sources.encoders import load_encoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    from sklearn.feature_extraction.text import TfidfVectorizer

    demo = load_demo()
    encoder = load_encoder(args.encoder)
    cache = EmbeddingCache()
    rows = {"TF-IDF (lexical baseline)": TfidfVectorizer(sublinear_tf=True, stop_words="english")
            .fit_transform(demo.texts).toarray()}
    rows["base (no instruction)"] = cache.encode(encoder, demo.texts)[0]
    for instruction in DEFAULT_INSTRUCTIONS.values():
        rows[f'instructed: "{instruction}"'] = cache.encode(encoder, demo.texts, instruction=instruction)[0]
    print(f"encoder: {encoder.describe()}\n")
    print("| embeddings | V vs topic | V vs location |")
    print("|---|---|---|")
    for name, X in rows.items():
        cells = [kmeans_v_measure(X, demo.labels[a], n_seeds=args.seeds) for a in demo.aspects]
        print(f"| {name} | " + " | ".join(f"{c.mean:.3f} +- {c.sd:.3f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
