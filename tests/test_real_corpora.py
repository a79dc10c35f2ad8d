"""Real numbers: the offline MiniLM encoder and the map on small samples of the research corpora."""

from __future__ import annotations

import pytest

from instructlin.pipeline.experiment import ExperimentConfig, run_experiment

from .conftest import shared_csv


def run(minilm, relative, labels, instructions, n_per_class, **map_params):
    config = ExperimentConfig(data=str(shared_csv(relative)), label_columns=labels,
                              instructions=instructions, encoder="minilm", n_per_class=n_per_class,
                              measure_timing=False, n_kmeans_seeds=10,
                              map_params=tuple(map_params.items()))
    return run_experiment(config, encoder=minilm)


@pytest.mark.slow  # 28 s; benchmarks/run_benchmark.py's reuters-topic and reuters-location rows cover it
@pytest.mark.parametrize("relative, instruction", [
    ("reuters21578/topic.csv", "Identify the topic of the given news article"),
    ("reuters21578/location.csv", "Identify the country where the given news article happened"),
])
def test_reuters_map_keeps_the_clustering_of_reencoding(minilm, relative, instruction):
    result = run(minilm, relative, ("cluster",), (("cluster", instruction),), 15)
    main = result.primary
    scores = main.scores["cluster"]
    assert len(result.train_idx) == 30 and len(result.test_idx) == 120
    assert scores.retention > 0.85, scores.to_dict()
    assert main.ndcg10["mapped"] > 0.9 * main.ndcg10["instructed"]  # retrieval within the test part
    # chosen for fidelity instead (cosine CV, both priors), the map stays close to each vector
    faithful = run(minilm, relative, ("cluster",), (("cluster", instruction),), 15,
                   criterion="cosine").primary
    assert faithful.cosine_mapped["mean"] > max(0.95, faithful.cosine_base["mean"])
    assert faithful.knn_overlap_mapped > faithful.knn_overlap_base
    assert faithful.scores["cluster"].retention > 0.85


@pytest.mark.slow  # 12 s; benchmarks/run_benchmark.py's syngoalex rows (language among them) cover it
def test_syngoalex_language_instruction_is_learned_from_a_fifth_of_the_texts(minilm):
    result = run(minilm, "syngoalex/syngoalex.csv", ("topic", "language", "style"),
                 (("language", "Identify the language of the given text"),), 32)
    main = result.primary
    language = main.scores["language"]
    # the instruction moves MiniLM's vectors a lot here (short texts, prompt tokens pooled in);
    # the map must follow most of that move, from 26 training texts
    assert main.cosine_base["mean"] < 0.8
    assert language.instructed.mean > language.base.mean
    assert language.mapped.mean > language.base.mean
    faithful = run(minilm, "syngoalex/syngoalex.csv", ("topic", "language", "style"),
                   (("language", "Identify the language of the given text"),), 32,
                   criterion="cosine").primary
    assert faithful.cosine_mapped["mean"] > 0.9
