"""Text datasets with one or more labellings: the demo corpus, NYTClustering and user files."""

from __future__ import annotations

from pathlib import Path

from instructlin.errors import DataError
from instructlin.extras import require
from instructlin.sources.hub import HUB_HOST, hub_reachable, local_or_download
from instructlin.sources.tables import dataset_from_frame, labelling_problem, load_table, read_table
from instructlin.sources.text_dataset import SUPPORTED_SUFFIXES, TextDataset, sample_per_class

__all__ = ["DATA_DIR", "DEMO_LABELS", "DEMO_PATH", "SUPPORTED_SUFFIXES", "DataError", "TextDataset", "data_dir",
           "dataset_from_frame", "labelling_problem", "load_dataset", "load_demo", "load_nyt", "load_table",
           "read_table", "sample_per_class"]


def data_dir() -> Path:
    """The demo corpus's folder: ``instructlin/_data`` in a wheel (pyproject.toml maps that package
    onto ``data/``, so git holds one copy), else ``data/`` beside the package in a checkout."""
    here = Path(__file__).resolve().parents[1]  # the instructlin package
    packaged = here / "_data"
    return packaged if (packaged / "news_demo.csv").is_file() else here.parent / "data"


DATA_DIR = data_dir()
DEMO_PATH = DATA_DIR / "news_demo.csv"
DEMO_LABELS = ("topic", "location")

NYT_REPO = "BrandonZYW/NYTClustering"
NYT_REVISION = "874caa290866b25a86bfa94a4e457c72fb5bdcb2"
NYT_ASPECTS = ("topic", "location")

def load_dataset(
    spec: str | Path,
    *,
    text_column: str = "text",
    label_columns: list[str] | None = None,
    drop_empty: bool = False,
    cache_dir: str | Path | None = None,
) -> TextDataset:
    """Load ``"demo"``, ``"nyt:topic"``, ``"nyt:location"`` or a CSV / Parquet / JSONL path."""
    spec_str = str(spec)
    if spec_str == "demo":
        return load_demo()
    if spec_str.startswith("nyt:"):
        return load_nyt(spec_str.split(":", 1)[1], cache_dir=cache_dir)
    return load_table(
        spec_str, text_column=text_column, label_columns=label_columns, drop_empty=drop_empty
    )


def load_demo() -> TextDataset:
    """The two-facet news corpus shipped with the package (labels ``topic`` and ``location``)."""
    if not DEMO_PATH.exists():
        raise DataError(
            f"The demo corpus is missing at {DEMO_PATH}. Reinstall instructlin (the wheel carries "
            "it as instructlin/_data/news_demo.csv; a checkout keeps it in data/)."
        )
    return load_table(DEMO_PATH, text_column="text", label_columns=list(DEMO_LABELS), name="demo")


def load_nyt(
    aspect: str, *, cache_dir: str | Path | None = None, timeout: float = 3.0
) -> TextDataset:
    """NYTClustering (InBedder) ``topic`` or ``location``: 2,160 articles, pinned revision."""
    if aspect not in NYT_ASPECTS:
        raise DataError(f"Unknown NYTClustering aspect {aspect!r}; choose one of {NYT_ASPECTS}.")
    hf_hub_download = require("huggingface_hub", purpose="downloading NYTClustering").hf_hub_download

    kwargs = dict(
        repo_id=NYT_REPO,
        filename=f"{aspect}.csv",
        repo_type="dataset",
        revision=NYT_REVISION,
        cache_dir=str(cache_dir) if cache_dir else None,
    )
    unavailable = lambda: DataError(  # noqa: E731
        f"Cannot download the dataset {NYT_REPO} ({aspect}.csv): the Hugging Face hub "
        f"({HUB_HOST}) is unreachable from this machine. Download {aspect}.csv elsewhere "
        "and pass it as a local file (--data PATH --label-column cluster), or use the "
        "embedded demo corpus (--data demo)."
    )
    path = local_or_download(lambda **kw: hf_hub_download(**kwargs, **kw), unavailable=unavailable,
                             timeout=timeout, reachable=hub_reachable)
    data = load_table(path, text_column="text", label_columns=["cluster"], name=f"nyt:{aspect}")
    return TextDataset(data.name, data.texts, {aspect: data.labels["cluster"]}, ids=data.ids)
