"""Where the data lives and which model embeds it: flags first, then environment, then defaults."""

from __future__ import annotations

import os
from pathlib import Path

from archive.embeddings import DEFAULT_MODEL

DATA_DIR_ENV = "ARCHIVE_DATA_DIR"
MODEL_ENV = "ARCHIVE_MODEL"


def data_dir(flag: str | None = None) -> Path:
    """The data dir: ``--data-dir``, else $ARCHIVE_DATA_DIR, else ./data."""
    return Path(flag or os.environ.get(DATA_DIR_ENV) or "data")


def model_name(flag: str | None = None) -> str:
    """The embedding model: ``--model``, else $ARCHIVE_MODEL, else multilingual-e5-small."""
    return flag or os.environ.get(MODEL_ENV) or DEFAULT_MODEL
