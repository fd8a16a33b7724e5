"""Store backends behind one protocol (``archive.store.base.Store``)."""

from __future__ import annotations

from pathlib import Path

from archive import config
from archive.config import ESSettings
from archive.store.base import Reader, Store, StoreEmpty, StoreError


def open_store(data_dir: Path, read_only: bool = False, backend: str | None = None, es: ESSettings | None = None) -> Store:
    """The configured backend: the embedded LanceDB store under ``data_dir`` (default), or the
    Elasticsearch index ``es`` describes (``--backend elasticsearch``, $ARCHIVE_BACKEND or $ES_URL)."""
    if config.backend(backend) == "elasticsearch":
        from archive.store.elastic import ElasticStore

        return ElasticStore(es or ESSettings.from_env(), read_only=read_only)
    from archive.store.lance import LanceStore

    return LanceStore(Path(data_dir) / "lancedb", read_only=read_only)


def indexed_model(store: Reader) -> str | None:
    """The model the index was embedded with, or None when there is no index yet: the default
    encoder follows it (``config.model_name``). An unreachable store raises ``StoreError``."""
    try:
        return store.info().model
    except StoreEmpty:
        return None


__all__ = ["Store", "StoreEmpty", "StoreError", "indexed_model", "open_store"]
