"""The stand-in measures (instructlin.pipeline.standin): each one on cases whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from instructlin.core.metrics import ndcg_of_index
from instructlin.pipeline.standin import mixed_share, stand_in, teacher_recall


def _clustered(n=120, d=32, seed=0, spread=0.6):
    """Four labelled clusters around a shared direction, as real embeddings share one (anisotropy);
    ``spread`` scales each row's own part, the same draw whatever its value."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    centres = rng.normal(size=(4, d))
    common = 2.0 * np.ones(d)
    return common + centres[labels] + spread * rng.normal(size=(n, d)), labels


def test_the_teacher_itself_is_a_perfect_stand_in():
    teacher, labels = _clustered()
    got = stand_in(teacher + 0.3, teacher, teacher, labels)
    assert got.recall10_mapped == 1.0 and got.cosine_mapped == pytest.approx(1.0)
    assert 0.4 <= got.mixed_share <= 0.6  # each text is in the index once, by either vector
    assert got.ndcg10_mixed == pytest.approx(got.ndcg10_teacher)


def test_a_scaled_copy_is_as_good_as_the_teacher_but_a_tight_one_crowds_the_index():
    teacher, _ = _clustered()
    assert teacher_recall(3.0 * teacher, teacher) == 1.0  # cosine ignores length
    tight, _ = _clustered(spread=0.15)  # each row's own part shrunk: what a regression predicts
    assert mixed_share(tight, teacher) < 0.3
    loose, _ = _clustered(spread=1.5)  # spread too wide: mapped rows hide behind the teacher's
    assert mixed_share(loose, teacher) > 0.7


def test_recall_falls_with_noise_and_never_counts_the_query_itself():
    teacher, _ = _clustered()
    rng = np.random.default_rng(2)
    recalls = [teacher_recall(teacher + s * rng.normal(size=teacher.shape), teacher) for s in (0.0, 0.3, 3.0)]
    assert recalls[0] == 1.0 > recalls[1] > recalls[2]
    shuffled = teacher[rng.permutation(len(teacher))]  # vectors of other texts: near chance
    assert teacher_recall(shuffled, teacher) < 0.25


def test_ndcg_of_an_index_that_ignores_the_labels_is_low():
    teacher, labels = _clustered()
    assert ndcg_of_index(teacher, teacher, labels) > 0.9
    noise = np.random.default_rng(3).normal(size=teacher.shape)
    assert ndcg_of_index(teacher, noise, labels) < 0.5


def test_mismatched_shapes_are_refused():
    teacher, _ = _clustered()
    with pytest.raises(ValueError, match="must be the same"):
        teacher_recall(teacher[:10], teacher)


def test_no_query_is_answered_with_its_own_text():
    """Row i of queries and index is one text: every stand-in measure leaves it out of i's answers."""
    from instructlin.core.metrics import cosine_neighbours

    teacher, _ = _clustered()
    found = cosine_neighbours(teacher, teacher + 1e-3, 10, exclude_self=True)  # its own row would be nearest
    assert not (found == np.arange(len(teacher))[:, None]).any()
