"""Home: the idea, shown live on a precomputed instruction-following teacher (no encoder runs here).

The map is fitted here, on the teacher's embeddings of 20 % of the demo corpus, and scored on the rest;
the teacher's embeddings come from a pack (``data/teacher``: EmbeddingGemma-300m), so the demo needs no
model, no GPU and no network. The other pages read the same pack, or run a live encoder on any data.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from instructlin.pipeline.experiment import DEFAULT_INSTRUCTIONS, ExperimentConfig
from instructlin.pipeline.instruction_matrix import InstructionMatrix
from instructlin.pipeline.projection import INPUT_COMPONENTS
from instructlin.pipeline.report import (
    NA_NO_CLUSTERS,
    NA_NO_GAP,
    OVER_TIGHT_RETENTION,
    spread_text,
    verdict_of,
)
from instructlin.pipeline.specs import PackSpec
from instructlin.sources.packs import Pack
from ui import cached, figures, page, plot_style, projection_figures, state
from ui.home_cost import cost
from ui.pack_source import pack_folder
from ui.standin_view import stand_in_row
from ui.text import plain

ASPECTS = ("location", "topic")  # the strong effect first
#: Home's pair moves EmbeddingGemma's clustering two ways (the matrix on the page measures it): a location
#: question, and the summary instruction, the one found that moves it toward topic (the topic instruction
#: itself pushes it toward location, like almost every instruction on this corpus).
HOME_INSTRUCTIONS = {"location": DEFAULT_INSTRUCTIONS["location"], "topic": "Summarize the article in one sentence"}
#: The task-neutral control every instruction's effect is measured against.
CONTROL = "Represent the given text"
#: Home's headline numbers are the mean and sd over this many seeded splits: one split of 58 pairs is noise.
N_SPLITS = 5


def demo_config(aspect: str, instruction: str) -> ExperimentConfig:
    """The demo's run for one instruction: the pack, the library's defaults (auto map, 20 % split, seed 42)."""
    return ExperimentConfig(data="demo", pack=pack_folder(), instructions=((aspect, instruction),),
                            measure_timing=False, n_splits=N_SPLITS)


def metric_sentences(aspect: str, n_test: int, teacher: str) -> dict[str, str]:
    """One sentence per number shown, in the order shown."""
    return {
        "V base": f"V-measure of k-means on the base embeddings (no instruction) against the {aspect} labels: "
                           "0 means unrelated, 1 means exactly the labels.",
        "V mapped": f"The same after the map: what instructlin gives the {n_test} texts the teacher "
                             "never saw.",
        "V instructed": f"The same for the teacher, {teacher}, given the instruction: the target.",
        "Retention": "V mapped / V instructed: how much of the teacher's clustering the map keeps. Above "
                     f"{OVER_TIGHT_RETENTION:.0%} is over-tightening, not a better map.",
        "Gap closed": "(V mapped − V base) / (V instructed − V base): how much of the instruction's effect the "
                      "map reproduces; shown only where retention is.",
    }


def headline_values(splits: dict) -> list[tuple[str, str]]:
    """The five headline numbers over the splits: (mean, "± sd"), "n/a" where they mean nothing."""
    n = splits["n"]
    texts = [spread_text(splits[key], n_splits=n) for key in ("v_base", "v_mapped", "v_instructed")]
    retention = spread_text(splits["retention"], percent=True, n_splits=n)
    gap = spread_text(splits["gap_closed"], percent=True, n_splits=n)
    texts += [NA_NO_CLUSTERS, "n/a"] if retention == "n/a" else [retention, NA_NO_GAP if gap == "n/a" else gap]
    return [tuple(text.split(" ± ", 1)) if " ± " in text else (text, "") for text in texts]


def over_tightening_line(splits: dict) -> str | None:
    """A sentence where some split's retention is over-tightening, else None."""
    k, n = splits["over_tightening"], splits["n"]
    if not k:
        return None
    return (f"In {k} of {n} splits retention is above {OVER_TIGHT_RETENTION:.0%}: there the mapped vectors cluster "
            "more tightly than the teacher's (they sit nearer their cluster centres), a flaw of a stand-in, not a "
            "better map.")


def verdict(splits: dict, aspect: str, teacher: str, measured: str) -> None:
    """What the instruction did to the teacher's clustering by ``aspect``, as measured (a sentiment instruction
    in the topic box is not "not followed": it moves the clustering elsewhere); ``measured``: its move over
    the control."""
    v_base, v_teacher = splits["v_base"]["mean"], splits["v_instructed"]["mean"]
    moved = f"V-measure against {aspect} {v_base:.2f} → {v_teacher:.2f} (mean over {splits['n']} splits)"
    found = verdict_of(v_base, v_teacher)
    if found == "follows":
        st.success(f"**With this instruction, {teacher} clusters the texts more by {aspect}:** {moved}. {measured} "
                   "The map should carry that change.")
    elif found == "goes against":
        st.warning(f"**With this instruction, {teacher} clusters the texts less by {aspect}:** {moved}. {measured} "
                   "The map copies the teacher, so its number drops too; that is the teacher's doing, not the map's.")
    else:
        st.info(f"**This instruction barely moves {teacher}'s clustering by {aspect}:** {moved}, so there is no "
                f"effect for the map to carry. {measured}")


def measured_sentence(matrix: InstructionMatrix, instruction: str, aspect: str) -> str:
    """What the instruction adds over the control on all texts, in one sentence (the matrix's row)."""
    reference = f"the control *{matrix.control}*" if matrix.control else "no instruction"
    toward = matrix.toward(instruction)
    where = f"toward **{toward}**" if toward else "toward no labelling"
    return (f"Against {reference}, on all {matrix.n_texts} texts it moves V-measure ({aspect}) by "
            f"{matrix.move(instruction, aspect):+.2f}, and the clustering most {where}.")


def teacher_matrix(pack: Pack) -> InstructionMatrix:
    """The instruction x labelling matrix of the teacher's V-measure, with the control row marked."""
    with page.guard("Measuring the teacher's instructions"):
        matrix = cached.instruction_matrix(PackSpec(pack_folder()), CONTROL)
    with st.expander(f"What {pack.name} does with each instruction (instruction x labelling, with a control)",
                     expanded=True):
        rows = []
        for name, values in zip(matrix.rows, matrix.values, strict=True):
            toward = "" if name == matrix.rows[0] or name == matrix.control else (matrix.toward(name) or "none")
            label = f"{name} (control)" if name == matrix.control else name
            rows.append({"instruction": label, **{f"V {c}": f"{float(v):.3f}" for c, v in
                                                  zip(matrix.labellings, values, strict=True)},
                         "moves toward (over the control)": toward})
        st.table(pd.DataFrame(rows).set_index("instruction"))  # static: nine rows need no grid widget
        st.caption(f"V-measure of {pack.name}'s embeddings of all {matrix.n_texts} demo texts against each labelling "
                   f"(k-means, mean over {matrix.n_seeds} seeds). An instruction moves the clustering toward a "
                   "labelling only by what it adds over the control, a task-neutral instruction: on this corpus "
                   "almost any instruction pushes the teacher toward location, the summary instruction toward topic.")
    return matrix


def chosen_instruction(pack: Pack, aspect: str) -> str:
    """The instruction this session picked for ``aspect`` (the library's default at first)."""
    options = pack.instructions()
    default = next((i for i in (HOME_INSTRUCTIONS.get(aspect), DEFAULT_INSTRUCTIONS.get(aspect)) if i in options),
                   options[0])
    picked = st.session_state.get(f"home:{aspect}")
    return picked if picked in options else default


def section(pack: Pack, aspect: str, instruction: str, matrix: InstructionMatrix) -> None:
    """One instruction: the teacher's verdict, the numbers with their sentences, UMAP and bars. Drawn as a
    parallel fragment, so both instructions are fitted at once (the cached stages lock per key)."""
    st.subheader(f"{aspect.capitalize()}: *{instruction}*")
    config = demo_config(aspect, instruction)
    spec = config.evaluation_spec(aspect)
    with page.guard(f"Fitting and scoring the {aspect} instruction"):
        result = cached.evaluation(spec)
        splits = cached.over_splits(config.repeat_spec(aspect))
        split = cached.split(config.split_spec())
    n_train, n_test = len(split.train), len(split.test)
    verdict(splits, aspect, pack.name, measured_sentence(matrix, instruction, aspect))
    seeds = f"seeds {splits['seeds'][0]}–{splits['seeds'][-1]}"
    st.markdown(f"**Mean ± sd over {splits['n']} seeded 20 % splits** ({seeds}): each fits a map on {n_train} "
                f"texts and scores it on the other {n_test}.")
    for col, (label, sentence), (value, spread) in zip(st.columns(5), metric_sentences(aspect, n_test,
                                                       pack.name).items(), headline_values(splits), strict=True):
        col.metric(label, value)
        col.caption(f"**± {spread}** (sd over splits). {sentence}" if spread else sentence)
    if note := over_tightening_line(splits):
        st.caption(note)
    st.caption(f"Teacher **{pack.name}, precomputed**; map `InstructionMap()` (auto), fitted here on each split, "
               "which is stratified by topic and location together; V-measure is the mean over "
               f"{config.n_kmeans_seeds} k-means seeds on each split.")
    if result.stand_in is not None:
        stand_in_row(result.stand_in, teacher=pack.name,
                     split=f"the {n_test} test texts of the first split (seed {config.seed}), as in the pictures")
    with page.guard("Projecting with UMAP"):
        coords, origin = cached.projection(spec)
    data = cached.dataset(config.data_spec())
    texts = [data.texts[i] for i in split.test]
    ids = data.row_ids()
    hover = plot_style.hover_text([ids[i] for i in split.test], texts, {aspect: list(data.labels[aspect][split.test])})
    trio = projection_figures.umap_panels(coords, list(data.labels[aspect][split.test]), hover,
                                          colour_title=aspect, webgl=False)
    trio.update_layout(height=380)
    left, right = st.columns([3, 2])
    left.plotly_chart(trio, key=f"home_umap:{aspect}", config={"displayModeBar": False})
    left.caption(f"The {n_test} test texts coloured by {aspect}, each panel its own UMAP of its own embeddings "
                 f"(their top {INPUT_COMPONENTS} principal coordinates): "
                 "base (left: no instruction), mapped (middle: the map's output) and teacher (right: instructed). "
                 "Base and mapped planes are only turned, flipped and scaled onto the teacher's, so each shows its "
                 f"own clusters and a text sits in comparable places across panels. Planes {origin}.")
    right.plotly_chart(figures.vmeasure_bars({label: s.to_dict() for label, s in result.scores.items()}),
                       key=f"home_bars:{aspect}", config={"displayModeBar": False})
    right.caption(f"V-measure of the same {n_test} texts (first split, seed {config.seed}) against each labelling "
                  "(mean ± sd over k-means seeds).")


def render() -> None:
    """The page, top to bottom: the idea, the teacher, both instructions, the cost of a new one."""
    page.setup("instructlin", live=False)
    st.markdown(
        "An instruction-following encoder gives a different embedding of the same text for each instruction "
        "(*topic?*, *where?*), but re-encoding a whole corpus for every new instruction is slow. "
        "**instructlin** encodes the corpus once without an instruction and learns, from a few texts encoded "
        "both ways, an affine map `W·x + b` from those base embeddings to the instructed ones. A new "
        "instruction then costs a small teacher pass plus a matrix product."
    )
    st.plotly_chart(figures.pipeline_diagram(), config={"displayModeBar": False}, key="pipeline")
    with page.guard("Reading the embedding pack"):
        pack = cached.pack(PackSpec(pack_folder()))
        data = cached.dataset(ExperimentConfig(data="demo").data_spec())
        pack.check_texts(data.texts, name="the demo corpus")  # one message here, not one per section
    if not pack.instructions():
        st.error(f"The pack at {plain(pack_folder())} holds base embeddings only; add instructed ones "
                 "(`instructlin embed --instruction ...`) and list them in its manifest.json.")
        st.stop()
    others = f"{pack.name}, precomputed" if state.on_pack() else f"encoder `{state.get('encoder')}`, live"
    st.sidebar.markdown(f"**Home:** {pack.name}, precomputed  \n**Other pages:** {others}")
    st.subheader(f"The demo: {pack.name} on the news corpus, two instructions")
    st.markdown(f"The teacher is **{pack.name}, precomputed**: its embeddings of the {pack.n_texts} demo texts, "
                "with and without each instruction, ship with the app, so nothing is encoded here. The map is "
                "fitted live on 20 % of the texts and judged on the other 80 %.")
    chosen = {}
    for col, aspect in zip(st.columns(len(ASPECTS)), ASPECTS, strict=True):
        options = pack.instructions()
        chosen[aspect] = col.selectbox(f"Instruction given to the teacher, scored against the **{aspect}** labels",
                                       options, index=options.index(chosen_instruction(pack, aspect)),
                                       key=f"home:{aspect}")
    matrix = teacher_matrix(pack)
    for aspect in ASPECTS:
        st.fragment(section, parallel=True, key=f"home-{aspect}")(pack, aspect, chosen[aspect], matrix)
    st.subheader("What a new instruction costs")
    config = demo_config(ASPECTS[0], chosen[ASPECTS[0]])
    cost(pack, config, ASPECTS[0])
    if pack.seconds_per_text is not None:
        with st.expander(f"The full record of the {ASPECTS[0]} demo (what `instructlin evaluate --pack` writes)"), \
                page.guard("Writing the record"):
            st.json(cached.summary(config), expanded=False)
    st.caption("The other pages (Data, Embeddings, Train, Compare, Timing) read this pack too, or, under "
               "*Embeddings from* in their sidebar, run a live encoder on data you choose (offline that is MiniLM, "
               "which is not instruction-tuned).")
