"""The data work the pages show, done by the library: the text-column guess, corpus and pack listings,
instruction shift, score rows, the cost of a new instruction and the break-even point."""

from __future__ import annotations

import numpy as np
import pytest

from instructlin.core.metrics import AspectScores, Score
from instructlin.pipeline.report import NA_NO_CLUSTERS, NA_NO_GAP
from instructlin.pipeline.stage_results import Embeddings, Timings
from instructlin.pipeline.summaries import cost_summary, first_break_even, instruction_shift, score_rows
from instructlin.sources.datasets import load_demo
from instructlin.sources.listings import cache_listing, class_counts, example_rows, pack_contents
from instructlin.sources.packs import DEMO_PACK_DIR, MANIFEST, read_pack
from instructlin.sources.text_column import guess_text_column
from instructlin.timing import Timing

pd = pytest.importorskip("pandas")

SENTENCES = [f"The {w} council met on day {i} to talk about roads and schools" for i, w in
             enumerate(["city", "town", "county", "state", "village", "region"])]


def test_a_text_column_is_taken_by_name_or_by_sentence_like_values():
    assert guess_text_column(pd.DataFrame({"text": ["a", "b"], "body": SENTENCES[:2]})).column == "text"
    head = pd.DataFrame({"cluster": ["a", "b"] * 3, "headline": SENTENCES, "note": [s[:30] for s in SENTENCES]})
    assert guess_text_column(head).column == "headline"  # the longest sentence-like column, not the labels


def test_repeated_or_short_values_are_not_guessed_and_the_reason_names_the_longest():
    same = pd.DataFrame({"body": [SENTENCES[0]] * 6, "cluster": list("ababab")})  # one sentence six times
    found = guess_text_column(same)
    assert found.column is None
    assert "in body, have 61 to 61 characters, 1 different in the first 6 rows" in found.reason, found.reason
    numbers = guess_text_column(pd.DataFrame({"x": [1, 2], "y": [0.5, 0.25]}))
    assert numbers.column is None and numbers.reason.startswith("No column holds strings")


def test_example_rows_are_a_seeded_sample_with_shortened_texts_and_every_label():
    demo = load_demo()
    rows = example_rows(demo, n=8, seed=3, max_chars=40)
    assert list(rows.columns) == ["text", *demo.aspects] and len(rows) == 8
    assert rows.equals(example_rows(demo, n=8, seed=3, max_chars=40))
    first = int(rows.index[0])
    assert rows["text"].iloc[0] == demo.texts[first][:40] + "…"
    assert rows["topic"].iloc[0] == demo.labels["topic"][first]
    assert len(example_rows(demo.subset([0, 1]), n=8)) == 2  # fewer rows than asked: all of them
    assert class_counts(demo.labels) == {a: len(set(v)) for a, v in demo.labels.items()}


@pytest.mark.skipif(not (DEMO_PACK_DIR / MANIFEST).exists(), reason="no embedding pack in data/teacher")
def test_pack_contents_list_each_array_and_the_shift_is_the_mean_cosine():
    pack = read_pack(DEMO_PACK_DIR)
    rows = pack_contents(pack)
    assert rows[0] == {"file": "base.npy", "instruction": "(none: base)", "labelling": "",
                       "rows × dim": "288 × 768"}
    assert {"file": "location.npy", "labelling": "location"}.items() <= rows[1].items()
    base, location = pack.load(None), pack.load(rows[1]["instruction"])
    shifts = instruction_shift(Embeddings((("location", rows[1]["instruction"]),), base,
                                          {"location": location, "same": base}))
    expected = np.mean(np.sum(base * location, axis=1) / np.linalg.norm(base, axis=1)
                       / np.linalg.norm(location, axis=1))
    assert shifts["location"] == pytest.approx(expected, abs=1e-6) and shifts["location"] < 0.95
    assert shifts["same"] == pytest.approx(1.0)


def test_cache_listing_keeps_the_readable_columns_in_order():
    table = cache_listing([{"file": "a.safetensors", "key": "x", "model_id": "m", "bytes": "10"}])
    assert list(table.columns) == ["model_id", "bytes", "file"]


def scores(base: float, mapped: float, instructed: float) -> AspectScores:
    return AspectScores("topic", Score(base, 0.0), Score(mapped, 0.0), Score(instructed, 0.0))


def test_score_rows_say_na_where_a_ratio_means_nothing():
    rows = score_rows({"topic": scores(0.2, 0.5, 0.6), "flat": scores(0.01, 0.02, 0.03),
                       "no gap": scores(0.5, 0.5, 0.51)})
    assert rows[0] == {"labelling": "topic", "retention": "83.3%", "gap closed": "75.0%"}
    assert rows[1] == {"labelling": "flat", "retention": NA_NO_CLUSTERS, "gap closed": NA_NO_CLUSTERS}
    assert rows[2] == {"labelling": "no gap", "retention": "98.0%", "gap closed": NA_NO_GAP}


def test_cost_summary_adds_the_teacher_pass_fit_and_map():
    steps = {name: Timing(name, s, (s,)) for name, s in
             (("encode_base", 1.0), ("encode_instructed", 2.0), ("fit", 0.5), ("map", 0.01))}
    cost = cost_summary(Timings("topic", "cpu", n_train=40, n_test=10, steps=steps))
    assert cost.teacher_train_s == pytest.approx(8.0)  # 2 s per 10 texts, over 40 training texts
    assert cost.instructlin_s == pytest.approx(8.51) and cost.reencode_s == pytest.approx(10.0)
    assert cost.speedup == pytest.approx(10.0 / 8.51) and cost.map_speedup == pytest.approx(200.0)
    assert cost.seconds == {"encode_base": 1.0, "encode_instructed": 2.0, "fit": 0.5, "map": 0.01}


def test_first_break_even_is_the_first_n_where_maps_are_cheaper():
    assert first_break_even([1, 2, 3, 4], [1.0, 2.0, 3.0, 4.0], [2.5, 2.6, 2.7, 2.8]) == 3
    assert first_break_even([1, 2], [1.0, 2.0], [5.0, 6.0]) is None
    assert first_break_even([], [], []) is None
