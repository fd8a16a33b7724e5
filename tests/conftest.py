"""Shared fixtures: one real embedding model and one real index of seeds/ per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from archive.embeddings import Embedder
from archive.pipeline import Indexer
from archive.search import SearchService
from archive.store import open_store

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the materialized model (shared: materializing takes seconds)."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def embedder(data_dir: Path) -> Embedder:
    return Embedder(data_dir=data_dir)


@pytest.fixture(scope="session")
def seed_store_dir(data_dir: Path, embedder: Embedder) -> Path:
    """A LanceDB index of seeds/ built once per session by the real pipeline."""
    report = Indexer(open_store(data_dir), embedder, progress=False).run([SEEDS])
    assert report.added == 5 and not report.errors
    return data_dir


@pytest.fixture(scope="session")
def service(seed_store_dir: Path, embedder: Embedder) -> SearchService:
    return SearchService(open_store(seed_store_dir, read_only=True), embedder)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of seeds/ for tests that add, change or break files."""
    dest = tmp_path / "corpus"
    shutil.copytree(SEEDS, dest)
    return dest
