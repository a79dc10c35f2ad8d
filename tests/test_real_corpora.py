"""Real numbers: the offline MiniLM encoder and the map on small samples of the research corpora."""

from __future__ import annotations

import pytest

from instructlin.experiment import ExperimentConfig, run_experiment

from .conftest import shared_csv


def run(minilm, relative, labels, instructions, n_per_class):
    config = ExperimentConfig(data=str(shared_csv(relative)), label_columns=labels,
                              instructions=instructions, encoder="minilm", n_per_class=n_per_class,
                              measure_timing=False, n_kmeans_seeds=10)
    return run_experiment(config, encoder=minilm)


@pytest.mark.parametrize("relative, instruction", [
    ("reuters21578/topic.csv", "Identify the topic of the given news article"),
    ("reuters21578/location.csv", "Identify the country where the given news article happened"),
])
def test_reuters_map_keeps_the_clustering_of_reencoding(minilm, relative, instruction):
    result = run(minilm, relative, ("cluster",), (("cluster", instruction),), 15)
    main = result.primary
    scores = main.scores["cluster"]
    assert len(result.train_idx) == 30 and len(result.test_idx) == 120
    assert main.cosine_mapped["mean"] > main.cosine_base["mean"]
    assert main.cosine_mapped["mean"] > 0.95
    assert main.knn_overlap_mapped > main.knn_overlap_base
    assert scores.retention > 0.85, scores.to_dict()


def test_syngoalex_language_instruction_is_learned_from_a_fifth_of_the_texts(minilm):
    result = run(minilm, "syngoalex/syngoalex.csv", ("topic", "language", "style"),
                 (("language", "Identify the language of the given text"),), 32)
    main = result.primary
    language = main.scores["language"]
    # the instruction moves MiniLM's vectors a lot here (short texts, prompt tokens pooled in);
    # the map must follow most of that move, from 26 training texts
    assert main.cosine_base["mean"] < 0.8 < 0.9 < main.cosine_mapped["mean"]
    assert language.instructed.mean > language.base.mean
    assert language.mapped.mean > language.base.mean
