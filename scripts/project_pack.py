"""Write a pack's precomputed projection planes (``projections.json`` in the pack folder).

For every instruction of the pack, this runs what the app's Home runs (the demo split, the auto map) and
stores :func:`instructlin.pipeline.projection.aligned_projection` of its base, mapped and instructed test rows, so
a first view needs no UMAP. The app uses an entry only while the pack, the split, the map and its output,
the UMAP settings and umap-learn's version are all what they were here. Run it after any of those change:

    python scripts/project_pack.py [--pack data/teacher]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from instructlin.pipeline.projection import aligned_projection
    from instructlin.pipeline.projection_store import demo_views, projection_inputs, store_entry, write_store
    from instructlin.sources.packs import DEMO_PACK_DIR, read_pack

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pack", default=str(DEMO_PACK_DIR))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    pack = read_pack(args.pack)
    entries = []
    for instruction in pack.instructions():
        run = demo_views(args.pack, instruction)
        planes = aligned_projection(run.views, reference="instructed", seed=run.seed)
        key = projection_inputs(pack, instruction, test_rows=run.test_rows, map_description=run.map_description,
                             seed=run.seed)
        entries.append(store_entry(key, run.views["mapped"], planes))
        logging.info("projected %r (%s)", instruction, run.map_description)
    logging.info("wrote %s", write_store(pack.folder, entries))


if __name__ == "__main__":
    main()
