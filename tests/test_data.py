"""Loading text datasets: the demo corpus, user files and their errors, splits and samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from instructlin.errors import DataError
from instructlin.pipeline.sampling import train_test_indices
from instructlin.sources.datasets import (
    DEMO_PATH,
    load_dataset,
    load_demo,
    load_nyt,
    load_table,
    read_table,
    sample_per_class,
)

from .conftest import shared_csv

# --- the demo corpus (data/news_demo.csv) --------------------------------------------------------

def test_demo_corpus_schema_balance_and_lengths():
    frame = pd.read_csv(DEMO_PATH)
    assert list(frame.columns) == ["id", "text", "topic", "location"]
    assert frame["id"].is_unique and len(frame) >= 288
    cells = pd.crosstab(frame["topic"], frame["location"])
    assert cells.shape[0] >= 6 and cells.shape[1] >= 6
    assert cells.to_numpy().min() >= 8 and cells.to_numpy().min() == cells.to_numpy().max()
    words = frame["text"].str.split().str.len()
    assert words.between(60, 200).all(), words.describe()


def test_demo_corpus_facets_are_independent():
    from sklearn.metrics import v_measure_score

    frame = pd.read_csv(DEMO_PATH)
    assert v_measure_score(frame["topic"], frame["location"]) < 1e-9


def test_demo_corpus_has_no_duplicates_or_near_duplicates():
    from sklearn.feature_extraction.text import TfidfVectorizer

    frame = pd.read_csv(DEMO_PATH)
    assert frame["text"].is_unique
    tfidf = TfidfVectorizer().fit_transform(frame["text"])
    sim = (tfidf @ tfidf.T).toarray()
    np.fill_diagonal(sim, 0.0)
    assert sim.max() < 0.8
    sentences = [s.strip() for t in frame["text"] for s in t.replace("\n", " ").split(". ") if len(s) > 40]
    assert len(sentences) == len(set(sentences)), "a sentence is shared by two articles"


def test_load_demo_and_load_dataset_default():
    demo = load_demo()
    assert demo.aspects == ["topic", "location"] and len(demo) == len(load_dataset("demo"))


# --- user files and their errors -----------------------------------------------------------------

def write(tmp_path, name, frame):
    path = tmp_path / name
    if name.endswith(".csv"):
        frame.to_csv(path, index=False)
    elif name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_json(path, orient="records", lines=True)
    return path


FRAME = pd.DataFrame({"text": ["a b", "c d", "e f", "g h"], "topic": list("xxyy"), "place": list("pqpq")})


@pytest.mark.parametrize("name", ["t.csv", "t.parquet", "t.jsonl"])
def test_every_format_reads_several_label_columns(tmp_path, name):
    path = write(tmp_path, name, FRAME)
    assert read_table(path, nrows=2)["text"].tolist() == ["a b", "c d"]
    data = load_table(path, label_columns=["topic", "place"])
    assert data.texts == FRAME["text"].tolist() and data.aspects == ["topic", "place"]
    assert data.labels["place"].tolist() == list("pqpq")


def test_missing_column_lists_the_columns_found(tmp_path):
    path = write(tmp_path, "t.csv", FRAME)
    with pytest.raises(DataError, match=r"no text column 'body'; columns found: \['text', 'topic', 'place'\]"):
        load_table(path, text_column="body")
    with pytest.raises(DataError, match="no label column 'cluster'"):
        load_table(path, label_columns=["cluster"])


def test_empty_file_and_header_only(tmp_path):
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="is empty"):
        load_table(empty)
    header = tmp_path / "h.csv"
    header.write_text("text,topic\n")
    with pytest.raises(DataError, match="no rows"):
        load_table(header)


def test_empty_texts_are_counted_and_dropped_only_when_asked(tmp_path):
    frame = pd.concat([FRAME, FRAME], ignore_index=True)
    frame.loc[1, "text"] = None
    frame.loc[2, "text"] = "   "
    path = write(tmp_path, "t.csv", frame)
    with pytest.raises(DataError, match=r"2 of 8 rows have an empty or missing text \(rows \[1, 2\]\)"):
        load_table(path, label_columns=["place"])
    data = load_table(path, label_columns=["place"], drop_empty=True)
    assert data.texts == ["a b", "g h", "a b", "c d", "e f", "g h"]


def test_non_utf8_is_named_with_the_fix(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,topic\ncaf\xe9,a\nthé,b\n".encode("latin-1"))
    with pytest.raises(DataError, match="not valid UTF-8.*Re-save it as UTF-8"):
        load_table(path)


def test_one_class_label_column_is_refused(tmp_path):
    path = write(tmp_path, "t.csv", FRAME.assign(topic="same"))
    with pytest.raises(DataError, match="label column 'topic' has one class only"):
        load_table(path, label_columns=["topic"])


def test_unsupported_suffix_and_missing_file(tmp_path):
    with pytest.raises(DataError, match="Unsupported file type '.txt'"):
        load_table(tmp_path / "x.txt")
    with pytest.raises(DataError, match="No such file"):
        load_table(tmp_path / "x.csv")


def test_nyt_fails_fast_offline_with_the_fix(offline_hub):
    with pytest.raises(DataError, match="BrandonZYW/NYTClustering.*--data demo"):
        load_nyt("topic")
    assert offline_hub.probes and max(offline_hub.probes) <= 5 and not offline_hub.downloads  # a short probe
    with pytest.raises(DataError, match="Unknown NYTClustering aspect"):
        load_nyt("sports")


def test_reuters_reads_like_nytclustering():
    data = load_table(shared_csv("reuters21578/location.csv"), label_columns=["cluster"])
    assert len(data) == 1000 and len(np.unique(data.labels["cluster"])) == 10


# --- splits and samples --------------------------------------------------------------------------

def test_split_is_seeded_stratified_and_the_same_for_every_instruction():
    demo = load_demo()
    train, test = train_test_indices(demo, train_size=0.2, seed=42)
    again, _ = train_test_indices(demo, train_size=0.2, seed=42)
    other, _ = train_test_indices(demo, train_size=0.2, seed=7)
    assert len(train) == round(0.2 * len(demo)) and len(np.intersect1d(train, test)) == 0
    assert np.array_equal(train, again) and not np.array_equal(train, other)
    counts = pd.Series(demo.labels["topic"][train]).value_counts()
    assert counts.max() - counts.min() <= 1


def test_split_rejects_fractions_that_leave_too_few_rows():
    with pytest.raises(DataError, match="both need at least 2"):
        train_test_indices(load_demo().subset([0, 1, 2]), train_size=0.2)
    with pytest.raises(DataError, match=r"must be in \(0, 1\)"):
        train_test_indices(load_demo(), train_size=1.0)


def test_sample_per_class_is_balanced_and_seeded():
    demo = load_demo()
    small = sample_per_class(demo, 3, aspect="location", seed=1)
    assert len(small) == 18
    assert set(pd.Series(small.labels["location"]).value_counts()) == {3}
    assert small.texts == sample_per_class(demo, 3, aspect="location", seed=1).texts
    with pytest.raises(DataError, match="at least 1"):
        sample_per_class(demo, 0)
