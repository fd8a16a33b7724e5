"""Store backends behind one protocol (``archive.store.base.Store``)."""

from __future__ import annotations

from pathlib import Path

from archive.store.base import Store, StoreEmpty, StoreError


def open_store(data_dir: Path, read_only: bool = False) -> Store:
    """The embedded LanceDB store under ``data_dir`` (the default backend)."""
    from archive.store.lance import LanceStore

    return LanceStore(Path(data_dir) / "lancedb", read_only=read_only)


__all__ = ["Store", "StoreEmpty", "StoreError", "open_store"]
