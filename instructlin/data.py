"""Text datasets with one or more labellings: the demo corpus, NYTClustering and user files."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from instructlin.extras import require
from instructlin.hub import HUB_HOST, hub_reachable, local_or_download

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)


def data_dir() -> Path:
    """The demo corpus's folder: ``instructlin/_data`` in a wheel (pyproject.toml maps that package
    onto ``data/``, so git holds one copy), else ``data/`` beside the package in a checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "_data"
    return packaged if (packaged / "news_demo.csv").is_file() else here.parent / "data"


DATA_DIR = data_dir()
DEMO_PATH = DATA_DIR / "news_demo.csv"
DEMO_LABELS = ("topic", "location")

NYT_REPO = "BrandonZYW/NYTClustering"
NYT_REVISION = "874caa290866b25a86bfa94a4e457c72fb5bdcb2"
NYT_ASPECTS = ("topic", "location")

SUPPORTED_SUFFIXES = (".csv", ".parquet", ".jsonl", ".json")


class DataError(ValueError):
    """A dataset cannot be used as given; the message names the problem and the fix."""


@dataclass(frozen=True)
class TextDataset:
    """Texts with one label array per aspect (e.g. ``topic`` and ``location``)."""

    name: str
    texts: list[str]
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    #: Each row's corpus id (the file's unique ``id`` column), or None: then :meth:`row_ids` numbers the rows.
    ids: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def row_ids(self) -> tuple[str, ...]:
        """Each row's corpus id, so tables and exports name rows the way the user's file does."""
        return self.ids if self.ids is not None else tuple(str(i) for i in range(len(self.texts)))

    @property
    def aspects(self) -> list[str]:
        """Names of the label columns, in file order."""
        return list(self.labels)

    def subset(self, indices: np.ndarray | list[int]) -> TextDataset:
        """The rows at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=int)
        return TextDataset(
            name=self.name,
            texts=[self.texts[i] for i in idx],
            labels={k: v[idx] for k, v in self.labels.items()},
            ids=tuple(self.row_ids()[i] for i in idx),
        )


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


def read_table(path: str | Path, *, nrows: int | None = None) -> pd.DataFrame:
    """A CSV / Parquet / JSONL file as a DataFrame (its first ``nrows`` rows if given), with errors
    that name the problem and the fix (missing, empty, not UTF-8, unparsable)."""
    pd = require("pandas", purpose="reading tables")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataError(
            f"Unsupported file type {suffix!r} for {path.name}; use one of {SUPPORTED_SUFFIXES}."
        )
    if not path.exists():
        raise DataError(f"No such file: {path}. Check the path.")
    if path.stat().st_size == 0:
        raise DataError(f"{path.name} is empty (0 bytes); pass a file with a header and rows.")
    try:
        if suffix == ".csv":
            return pd.read_csv(path, encoding="utf-8", nrows=nrows)
        if suffix == ".parquet":
            require("pyarrow", purpose="reading Parquet")
            return pd.read_parquet(path).head(nrows)
        return pd.read_json(path, lines=True, encoding="utf-8", nrows=nrows)
    except UnicodeDecodeError as err:
        raise DataError(
            f"{path.name} is not valid UTF-8 (byte {err.start}: {err.object[err.start:err.start + 1]!r})."
            " Re-save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)."
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path.name} has no columns or rows; pass a non-empty table.") from None
    except ValueError as err:
        raise DataError(f"{path.name} could not be parsed as {suffix[1:]}: {err}") from None


def load_table(
    path: str | Path,
    *,
    text_column: str = "text",
    label_columns: list[str] | None = None,
    drop_empty: bool = False,
    name: str | None = None,
) -> TextDataset:
    """Read a CSV, Parquet or JSONL file with a text column and one or more label columns.

    ``label_columns=None`` takes ``cluster`` if present, else every column but the text and ``id``.
    """
    path = Path(path)
    frame = read_table(path)
    return dataset_from_frame(
        frame,
        text_column=text_column,
        label_columns=label_columns,
        drop_empty=drop_empty,
        name=name or path.name,
    )


def dataset_from_frame(
    frame: pd.DataFrame,
    *,
    text_column: str = "text",
    label_columns: list[str] | None = None,
    drop_empty: bool = False,
    name: str = "table",
) -> TextDataset:
    """Validate a DataFrame and turn it into a :class:`TextDataset` (used for uploads too)."""
    columns = [str(c) for c in frame.columns]
    if len(frame) == 0:
        raise DataError(f"{name} has a header but no rows; pass a table with at least 2 rows.")
    if text_column not in columns:
        raise DataError(
            f"{name} has no text column {text_column!r}; columns found: {columns}. "
            "Choose the text column with --text-column."
        )
    explicit = label_columns is not None
    if label_columns is None:
        label_columns = ["cluster"] if "cluster" in columns else [
            c for c in columns if c not in (text_column, "id")
        ]
    missing = [c for c in label_columns if c not in columns]
    if missing:
        raise DataError(
            f"{name} has no label column {missing[0]!r}; columns found: {columns}. "
            "Choose label columns with --label-column."
        )
    texts = frame[text_column]
    empty = texts.isna() | texts.astype(str).str.strip().eq("")
    if empty.any():
        rows = np.flatnonzero(empty.to_numpy())
        if not drop_empty:
            raise DataError(
                f"{name}: {int(empty.sum())} of {len(frame)} rows have an empty or missing text "
                f"(rows {rows[:5].tolist()}{'...' if len(rows) > 5 else ''}). "
                "Fix them, or pass drop_empty=True (--drop-empty) to drop them."
            )
        logger.warning("%s: dropping %d rows with empty text", name, len(rows))
        frame = frame.loc[~empty]
    labels: dict[str, np.ndarray] = {}
    for column in label_columns:
        values = frame[column]
        problem = labelling_problem(values)
        if problem and not explicit and "cluster" not in columns:
            logger.warning("%s: column %r is not used as labels: %s", name, column, problem)
            continue
        if problem:
            raise DataError(f"{name}: label column {column!r} {problem}; pick another with --label-column.")
        if values.isna().any():
            raise DataError(
                f"{name}: label column {column!r} has {int(values.isna().sum())} missing values; "
                "fill or drop those rows."
            )
        classes = values.astype(str).unique()
        if len(classes) < 2:
            raise DataError(
                f"{name}: label column {column!r} has one class only ({classes[0]!r}); clustering "
                "needs at least 2 classes. Pick another label column."
            )
        labels[column] = values.astype(str).to_numpy()
    ids = frame["id"].astype(str) if "id" in columns and text_column != "id" else None
    return TextDataset(name=name, texts=frame[text_column].astype(str).tolist(), labels=labels,
                       ids=tuple(ids) if ids is not None and ids.is_unique else None)


def labelling_problem(values: pd.Series) -> str | None:
    """Why a column cannot be a labelling (continuous, or nearly one class per row), else None.

    Such a column gives V-measure 1.0 to any clustering fine enough, so scores would mean nothing.
    """
    pd = require("pandas")
    present = values.dropna()
    if pd.api.types.is_float_dtype(present) and not np.allclose(present, np.round(present)):
        return "holds continuous numbers, not classes"
    n_classes, n_rows = present.astype(str).nunique(), len(present)
    if n_rows and n_classes > n_rows / 2:
        return f"has {n_classes} classes for {n_rows} rows (more than half as many classes as rows)"
    return None


def sample_per_class(
    dataset: TextDataset, n_per_class: int, *, aspect: str | None = None, seed: int = 42
) -> TextDataset:
    """At most ``n_per_class`` rows of each class of ``aspect`` (default: the first), seeded."""
    if n_per_class < 1:
        raise DataError(f"n_per_class must be at least 1, got {n_per_class}.")
    aspect = aspect or dataset.aspects[0]
    labels = dataset.labels[aspect]
    rng = np.random.default_rng(seed)
    chosen = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        chosen.append(rng.permutation(members)[:n_per_class])
    return dataset.subset(np.sort(np.concatenate(chosen)))
