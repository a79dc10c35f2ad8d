"""The teacher pack as the pages' source of embeddings: where it is, and what it starts from."""

from __future__ import annotations

import os
from pathlib import Path

from instructlin.pipeline.experiment import DEFAULT_INSTRUCTIONS
from instructlin.sources.packs import DEMO_PACK_DIR, MANIFEST

#: The teacher pack the app shows (Home, and every page on the pack source); an operator may point it
#: elsewhere (a pack made from the demo corpus).
PACK_ENV = "INSTRUCTLIN_PACK"
#: The pack's instruction per labelling until the visitor picks another: Home's pair (ui/home.py), the location
#: question and the summary instruction, which moves the teacher toward topic (the topic instruction itself
#: moves it toward location).
PACK_INSTRUCTIONS = {"location": DEFAULT_INSTRUCTIONS["location"], "topic": "Summarize the article in one sentence"}
#: Where the pages' embeddings come from: the teacher pack (precomputed, the demo corpus) or a live encoder.
EMBEDDINGS_FROM = ("pack", "encoder")


def pack_folder() -> str:
    """The teacher pack's folder: ``$INSTRUCTLIN_PACK``, else the shipped data/teacher."""
    return os.environ.get(PACK_ENV) or str(DEMO_PACK_DIR)


def pack_present() -> bool:
    """Whether a pack folder with a manifest is there (its contents are checked when read)."""
    return (Path(pack_folder()) / MANIFEST).is_file()
