"""The instruction x labelling matrix on the shipped EmbeddingGemma-300m pack: what each instruction does,
measured against a task-neutral control instead of assumed from its wording."""

from __future__ import annotations

import numpy as np
import pytest

from instructlin.core.metrics import kmeans_v_measure
from instructlin.pipeline.instruction_matrix import MIN_MOVE, instruction_matrix
from instructlin.sources.datasets import load_demo
from instructlin.sources.packs import DEMO_PACK_DIR, MANIFEST, read_pack

if not (DEMO_PACK_DIR / MANIFEST).exists():
    pytest.skip("no embedding pack at data/teacher", allow_module_level=True)

CONTROL = "Represent the given text"
SUMMARY = "Summarize the article in one sentence"
LOCATION = "Identify the location where the given news article happened"
TOPIC = "Identify the topic of the given news article"


@pytest.fixture(scope="module")
def matrix():
    pack, demo = read_pack(DEMO_PACK_DIR), load_demo()
    spaces = {i: pack.load(i) for i in (LOCATION, TOPIC, SUMMARY, CONTROL)}
    return instruction_matrix(pack.load(None), spaces, demo.labels, control=CONTROL, n_seeds=5), pack, demo


def test_each_cell_is_the_teachers_k_means_v_measure(matrix):
    m, pack, demo = matrix
    assert m.rows == ("no instruction", LOCATION, TOPIC, SUMMARY, CONTROL) and m.labellings == ("topic", "location")
    direct = kmeans_v_measure(pack.load(SUMMARY), np.asarray(demo.labels["topic"]), n_seeds=5).mean
    assert m.value(SUMMARY, "topic") == pytest.approx(direct)
    assert m.move(SUMMARY, "topic") == pytest.approx(direct - m.value(CONTROL, "topic"))


def test_the_pair_moves_the_teacher_two_ways_and_the_topic_wording_does_not(matrix):
    """Measured, not assumed: the summary instruction moves it toward topic, the location question toward
    location, and the topic instruction (its wording notwithstanding) toward location; the control moves
    nothing over the base."""
    m, _, _ = matrix
    assert m.toward(SUMMARY) == "topic" and m.move(SUMMARY, "topic") > 0.2
    assert m.toward(LOCATION) == "location" and m.move(LOCATION, "location") > 0.15
    assert m.toward(TOPIC) == "location" and m.move(TOPIC, "topic") < 0
    for labelling in m.labellings:
        assert abs(m.value(CONTROL, labelling) - m.value("no instruction", labelling)) < 2 * MIN_MOVE


def test_a_control_that_is_not_given_is_refused():
    base = np.zeros((4, 2))
    with pytest.raises(ValueError, match="control instruction"):
        instruction_matrix(base, {"a": base}, {"l": ["x", "y", "x", "y"]}, control="b")
