"""The stand-in measures as one row of metrics, each with its sentence (Home, Train, Your vectors)."""

from __future__ import annotations

import streamlit as st

from instructlin.standin import StandIn


def stand_in_row(si: StandIn, *, teacher: str, split: str) -> None:
    """Cosine, the teacher's neighbours and the mixed index, mapped beside no map; red only where the map
    is worse than no map (cosine and recall); the mixed share is judged against 0.5."""
    cols = st.columns(3)
    cols[0].metric("Cosine to the teacher", f"{si.cosine_mapped:.3f}",
                   delta=f"{si.cosine_mapped - si.cosine_base:+.3f} vs no map")
    cols[0].caption("Mean cosine of each mapped vector with the same text's teacher vector.")
    cols[1].metric("Teacher's neighbours kept (recall@10)", f"{si.recall10_mapped:.2f}",
                   delta=f"{si.recall10_mapped - si.recall10_base:+.2f} vs no map")
    cols[1].caption("Share of each teacher query's 10 nearest texts (in the teacher's index) that an index of "
                    "mapped vectors returns.")
    fair = 0.4 <= si.mixed_share <= 0.6
    word = "mix fairly" if fair else (
        "crowd the teacher's out" if si.mixed_share < 0.4 else "hide behind the teacher's")
    cols[2].metric("Teacher-encoded share, mixed index", f"{si.mixed_share:.2f}",
                   help="Half the texts indexed by their teacher vector, half by their mapped one; 0.50 is fair.")
    cols[2].caption("In a half-mapped index, teacher queries' top 10 are this share teacher-encoded: "
                    f"the mapped vectors {word} (0.50 = fair).")
    st.caption(f"Stand-in measures. Teacher: {teacher}. Split: {split}.")
