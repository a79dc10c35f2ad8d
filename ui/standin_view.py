"""The stand-in measures as one row of metrics, each with its sentence (Home, Train, Your vectors)."""

from __future__ import annotations

import streamlit as st

from instructlin.pipeline.standin import StandIn

#: How much worse than no map a measure must be to show red. Smaller differences are split-to-split noise:
#: over 8 seeded 20 % splits of the demo corpus (EmbeddingGemma pack) the map-minus-no-map difference varies
#: by sd 0.002 in cosine and 0.009 in recall@10, and more on smaller samples.
WORSE_BY = {"cosine": 0.01, "recall": 0.02}

SENTENCES = {
    "cosine": "How close each mapped vector is to the same text's teacher vector (mean cosine). 1.0 is a "
              "perfect copy; a useful map beats no map, the base vector as it is.",
    "recall": "Recall@10: of each teacher query's 10 nearest texts in the teacher's own index, the share an "
              "index of mapped vectors also returns. 1.0 keeps every neighbour; a useful map beats no map.",
}


def delta_colour(difference: float, worse_by: float) -> str:
    """Red (down) or green (up) only beyond ``worse_by``; a smaller difference is shown grey."""
    return "normal" if abs(difference) > worse_by else "off"


def stand_in_row(si: StandIn, *, teacher: str, split: str) -> None:
    """Cosine, the teacher's neighbours and the mixed index, mapped beside no map, each with its sentence;
    red only where the map is worse than no map by more than :data:`WORSE_BY`."""
    cols = st.columns(3)
    cosine = si.cosine_mapped - si.cosine_base
    cols[0].metric("Cosine to the teacher", f"{si.cosine_mapped:.3f}", delta=f"{cosine:+.3f} vs no map",
                   delta_color=delta_colour(cosine, WORSE_BY["cosine"]))
    cols[0].caption(SENTENCES["cosine"])
    recall = si.recall10_mapped - si.recall10_base
    cols[1].metric("Teacher's neighbours kept", f"{si.recall10_mapped:.2f}",
                   delta=f"{recall:+.2f} vs no map", delta_color=delta_colour(recall, WORSE_BY["recall"]))
    cols[1].caption(SENTENCES["recall"])
    fair = 0.4 <= si.mixed_share <= 0.6
    word = "mix fairly" if fair else (
        "crowd the teacher's out" if si.mixed_share < 0.4 else "hide behind the teacher's")
    cols[2].metric("Teacher share, mixed index", f"{si.mixed_share:.2f}")
    cols[2].caption("With half the texts teacher-encoded and half mapped in one index, the share of "
                    f"teacher-encoded texts in teacher queries' top 10. 0.50 is fair: here the mapped vectors {word}.")
    st.caption(f"Stand-in measures. Teacher: {teacher}. Split: {split}. Red marks a map worse than no map by more "
               f"than {WORSE_BY['cosine']:g} in cosine or {WORSE_BY['recall']:g} in recall@10; a smaller "
               "difference is within split-to-split noise and shown grey.")
