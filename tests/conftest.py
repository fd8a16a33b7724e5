"""Shared fixtures: one real embedding model and one real index of seeds/ per test session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from archive.config import DEFAULT_BATCH, INT8_MODEL, MODEL_CACHE_ENV, ESSettings
from archive.embeddings import Embedder
from archive.pipeline import Indexer
from archive.search import SearchService
from archive.store import Store, open_store
from archive.store.elastic import ElasticStore

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
ARTIFACTS = ROOT / "test-artifacts"


def record_reliability(test: str, tried: str, outcome: str) -> None:
    """One row of docs/reliability.md (rendered by bench/reliability_table.py from what the
    tests measured on their last run)."""
    ARTIFACTS.mkdir(exist_ok=True)
    row = {"test": test, "tried": tried, "outcome": outcome, "at": time.strftime("%Y-%m-%d %H:%M")}
    with open(ARTIFACTS / "reliability.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")


# One model cache for the session, never the user's: every Embedder made here, in the app and in a
# CLI subprocess (the environment is inherited) materializes the model into it once.
MODEL_CACHE = Path(tempfile.mkdtemp(prefix="archive-models-"))
os.environ[MODEL_CACHE_ENV] = str(MODEL_CACHE)


def pytest_unconfigure() -> None:
    shutil.rmtree(MODEL_CACHE, ignore_errors=True)


# What a test needs, read from the fixtures it uses (their closure, so through other fixtures too);
# a backend parameter "elasticsearch" needs the ES server as well. Markers select by need:
# pytest -m "not model and not es and not browser" runs what needs none of them.
NEEDS = {"model": {"embedder", "data_dir"}, "es": {"es_url", "es_settings", "es_seed_store"}, "browser": {"browser"}}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        for mark, fixtures in NEEDS.items():
            if used & fixtures or (mark == "es" and "elasticsearch" in params.values()):
                item.add_marker(mark)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir shared by the session's model tests (the model itself is in MODEL_CACHE)."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def embedder(data_dir: Path) -> Embedder:
    """The product's default encoder (torch fp32)."""
    return Embedder()


@pytest.fixture(scope="session")
def int8_embedder(embedder: Embedder) -> Embedder:
    """The same model's opt-in int8 encoder on onnxruntime (built once per session's cache)."""
    return Embedder(INT8_MODEL)


@pytest.fixture(scope="session")
def seed_store_dir(data_dir: Path, embedder: Embedder) -> Path:
    """A LanceDB index of seeds/ built once per session by the real pipeline."""
    report = Indexer(open_store(data_dir), embedder, progress=False).run([SEEDS])
    assert report.added == 5 and not report.errors
    return data_dir


@pytest.fixture(scope="session")
def service(seed_store_dir: Path, embedder: Embedder) -> SearchService:
    return SearchService(open_store(seed_store_dir, read_only=True), embedder)


def model_loading(at: AppTest) -> bool:
    """The app says the model is still loading (its results meanwhile are keyword results)."""
    return any("Loading the semantic model" in i.value for i in at.info)


def open_app(data: Path, monkeypatch: pytest.MonkeyPatch, wait_for_model: bool = True, **params: str | list[str]) -> AppTest:
    """The Streamlit app (AppTest) on ``data`` at a URL with ``params``; by default rerun until the
    model that loads in the background is ready, so a hybrid or semantic view shows its own
    mode's results."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("ARCHIVE_DATA_DIR", str(data))
    at = AppTest.from_file(str(ROOT / "search_ui" / "app.py"), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    deadline = time.monotonic() + 180
    while wait_for_model and model_loading(at) and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    assert not at.exception, at.exception
    return at


def run_cli(*args: str, data_dir: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The CLI as a user runs it: ``python -m indexer`` in a subprocess."""
    full = dict(os.environ, ARCHIVE_DATA_DIR=str(data_dir), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "indexer", *args], cwd=ROOT, env=full, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def cli_data(tmp_path: Path, data_dir: Path, embedder: object) -> Path:
    """An empty data dir; the session's model is materialized before the CLI needs it."""
    d = tmp_path / "cli-data"
    d.mkdir()
    return d


class Reading:
    """Calls ``read`` in a background thread until the ``with`` block ends (``pause`` seconds
    apart), keeping every answer and every error: a store that stops answering, or answers
    half-built, shows here."""

    def __init__(self, read: Callable[[], int], pause: float = 0.0) -> None:
        self.read, self.pause = read, pause
        self.totals: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.wait(self.pause):
            try:
                self.totals.append(self.read())
            except Exception as exc:  # noqa: BLE001 - every failure is what the tests count
                self.errors.append(repr(exc))

    def __enter__(self) -> Reading:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def Searching(service: SearchService, query: str) -> Reading:  # noqa: N802 - used like the class it was
    """Keyword searches for ``query`` all through a ``with`` block: every answer's total."""
    return Reading(lambda: service.search(query, mode="keyword").total)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of seeds/ for tests that add, change or break files."""
    dest = tmp_path / "corpus"
    shutil.copytree(SEEDS, dest)
    return dest


# --------------------------------------------------------------------------- Elasticsearch
# A real cluster runs the ES tests when $ES_URL is set; nothing else in the suite may reach it.
REAL_ES_URL = os.environ.pop("ES_URL", None)
os.environ.pop("ARCHIVE_BACKEND", None)


@pytest.fixture(scope="session")
def es_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """$ES_URL, else a noida-db server started for this session."""
    if REAL_ES_URL:
        yield REAL_ES_URL
        return
    from .es_server import NoidaServer

    server = NoidaServer(tmp_path_factory.mktemp("noida"))
    yield server.url
    server.stop()


def _drop_alias_indices(settings: ESSettings) -> None:
    store = ElasticStore(settings)
    names = [n for g in store.generations() for n in (g.name, g.name + "-vocab")] + [settings.index + "-jobs"]
    store.es.options(ignore_status=404).indices.delete(index=names, ignore_unavailable=True)  # by name: no wildcards


@pytest.fixture
def es_settings(es_url: str) -> Iterator[ESSettings]:
    """A fresh alias name per test (credentials from the environment on a real cluster)."""
    settings = ESSettings.from_env(url=es_url, index=f"test-{uuid.uuid4().hex[:10]}")
    yield settings
    _drop_alias_indices(settings)


@pytest.fixture(scope="session")
def es_seed_store(es_url: str, embedder: Embedder) -> Iterator[ElasticStore]:
    """seeds/ indexed once into Elasticsearch by the real pipeline."""
    settings = ESSettings.from_env(url=es_url, index=f"test-seeds-{uuid.uuid4().hex[:8]}")
    report = Indexer(ElasticStore(settings), embedder, progress=False).run([SEEDS])
    assert report.added == 5 and not report.errors, report.errors
    yield ElasticStore(settings, read_only=True)
    _drop_alias_indices(settings)


def served(
    feed: Path,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    name: str,
    then: Sequence[Path] = (),
    batch_size: int = DEFAULT_BATCH,
) -> Iterator[SearchService]:
    """``feed`` (then each of ``then``, one run each) indexed by the real pipeline on the
    backend ``request.param`` names, behind the search service (a module fixture's body: the
    Elasticsearch index is dropped after it)."""
    settings = (
        ESSettings.from_env(url=request.getfixturevalue("es_url"), index=f"test-{name}-{uuid.uuid4().hex[:8]}")
        if request.param == "elasticsearch"
        else None
    )
    root = tmp_path_factory.mktemp(name)

    def store(read_only: bool = False) -> Store:
        return ElasticStore(settings, read_only=read_only) if settings else open_store(root, read_only=read_only)

    for run in (feed, *then):
        report = Indexer(store(), embedder, batch_size=batch_size, progress=False).run([run])
        assert not report.errors, report.errors
    yield SearchService(store(read_only=True), embedder)
    if settings:
        _drop_alias_indices(settings)


@pytest.fixture(params=["lancedb", "elasticsearch"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Store]:
    """A fresh store factory on each backend (ES: a fresh alias on the test server)."""
    if request.param == "lancedb":
        return lambda read_only=False: open_store(tmp_path / "data", read_only=read_only, backend="lancedb")
    settings = request.getfixturevalue("es_settings")
    return lambda read_only=False: ElasticStore(settings, read_only=read_only)
