"""Backend faults and secrets: a slow Elasticsearch that times out mid-bulk, an app whose backend
goes down and comes back, and credentials that never appear in output, errors or job records."""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from archive.config import ESSettings
from archive.embeddings import Embedder
from archive.jobs import JobRunner, config_from_paths
from archive.store import Store, open_store
from archive.store.base import StoreError
from archive.store.elastic import ElasticStore

from .conftest import ROOT, record_reliability, run_cli
from .faultproxy import FaultProxy
from .helpers import assert_store_equals, job_file, write_feed


def test_timeouts_mid_bulk_are_retried_and_lose_nothing(
    es_url: str, es_settings: ESSettings, corpus: Path, embedder: Embedder, tmp_path: Path
) -> None:
    sent = itertools.count()  # 2 of every 5 bulk requests held past the timeout, two in a row: retried
    proxy = FaultProxy(es_url, lambda m, p: 2.5 if "_bulk" in p and next(sent) % 5 < 2 else None)
    try:
        write_feed(corpus / "feed.jsonl", range(24))
        store = ElasticStore(ESSettings.from_env(url=proxy.url, index=es_settings.index, bulk_timeout=1.0))
        rec = JobRunner(store, embedder).run(config_from_paths([corpus], batch_size=4))
    finally:
        proxy.close()
    assert rec.status == "ok" and rec.added == 29 and proxy.faults.get("delay", 0) >= 2
    direct = ElasticStore(es_settings)
    assert_store_equals(direct, _by_dir(corpus))
    record_reliability(
        "ES timeouts mid-bulk",
        f"{proxy.faults['delay']} bulk requests held 2.5 s against a 1 s bulk timeout",
        "all retried; 29 of 29 articles stored once, 0 lost, 0 duplicated",
    )


def test_bulk_writes_get_their_own_timeout_and_a_slow_bulk_is_sent_a_bounded_number_of_times(
    es_url: str, es_settings: ESSettings
) -> None:
    """HNSW indexing makes bulks slow on a real cluster: they run under ``bulk_timeout``, not the
    search timeout, and one that keeps timing out is sent ``BULK_ATTEMPTS`` times in all (the
    client's own retries on top of the whole-bulk retries sent it 36 times)."""
    from archive.analysis import ANALYSIS_VERSION  # noqa: PLC0415
    from archive.model import Article  # noqa: PLC0415
    from archive.pipeline import prepare  # noqa: PLC0415
    from archive.store.elastic import BULK_ATTEMPTS  # noqa: PLC0415

    ElasticStore(es_settings).check_compatible("m", 4, ANALYSIS_VERSION)
    item = prepare(
        Article("slow-1", "عنوان", "نص قصير عن الاقتصاد", None, "مولد", "", "", "h1"), np.full((1, 4), 0.5, dtype=np.float32)
    )
    proxy = FaultProxy(es_url, lambda m, p: 1.0 if "_bulk" in p else None)
    try:
        patient = ElasticStore(ESSettings.from_env(url=proxy.url, index=es_settings.index, timeout=0.3, bulk_timeout=10))
        patient.upsert([item])  # 1 s bulks under a 0.3 s search timeout: written, nothing re-sent
        assert proxy.faults == {"delay": 2}  # the new terms, then the article
        proxy.faults.clear()
        hasty = ElasticStore(ESSettings.from_env(url=proxy.url, index=es_settings.index, bulk_timeout=0.3))
        with pytest.raises(StoreError, match=r"timed out while trying to record terms \(timeout 0.3s; set ES_BULK_TIMEOUT\)"):
            hasty.upsert([item])  # its first bulk, the terms, never answers in time
        assert proxy.faults == {"delay": BULK_ATTEMPTS} and BULK_ATTEMPTS <= 6
    finally:
        proxy.close()
    assert ElasticStore(es_settings).get(["slow-1"])["slow-1"].title == "عنوان"


def _by_dir(corpus: Path) -> dict[str, tuple[str, int]]:
    """What a job over the directory ``corpus`` (a source named after it) must leave in the store."""
    from archive.ingest import iter_articles, passages
    from archive.model import Article

    return {a.id: (a.content_hash, len(passages(a))) for a in iter_articles([corpus]) if isinstance(a, Article)}


def test_the_app_says_when_the_backend_is_down_and_recovers_by_itself(
    es_url: str, es_seed_store: ElasticStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    state = {"down": False}
    proxy = FaultProxy(es_url, lambda m, p: "close" if state["down"] else None)
    try:
        monkeypatch.setenv("ARCHIVE_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("ES_URL", proxy.url)
        monkeypatch.setenv("ES_INDEX", es_seed_store.alias)
        monkeypatch.setenv("ES_TIMEOUT", "2")
        at = AppTest.from_file(str(ROOT / "search_ui" / "app.py"), default_timeout=120)
        at.query_params["q"] = "همدان"
        at.query_params["mode"] = "keyword"
        at.run()
        assert not at.exception and "<mark>همدان</mark>" in "".join(m.value for m in at.markdown)
        state["down"] = True
        at.run()
        errors = " ".join(e.value for e in at.error).replace("\\", "")
        assert not at.exception and "cannot reach Elasticsearch" in errors and proxy.url.split("//")[1] in errors
        state["down"] = False
        at.run()  # the same app session, no restart: answers again
        assert not at.exception and not at.error and "<mark>همدان</mark>" in "".join(m.value for m in at.markdown)
    finally:
        proxy.close()
    record_reliability(
        "app during an outage",
        "Elasticsearch dropped every connection, then came back",
        "a one-line message while down, results again on the next search, no restart, no traceback",
    )


def test_credentials_never_appear_in_output_errors_or_job_records(
    es_url: str, es_settings: ESSettings, corpus: Path, cli_data: Path, tmp_path: Path
) -> None:
    secret_key, secret_pw = "k3y-SECRET-4f9a", "pw-SECRET-77"
    denied = b'{"error":{"type":"security_exception","reason":"action [indices:data/write/bulk] is unauthorized"},"status":403}'
    proxy = FaultProxy(es_url, lambda m, p: (403, denied) if "_bulk" in p else None)
    try:
        cfg = job_file(
            tmp_path, corpus, f'[store]\nbackend = "elasticsearch"\nes_url = "{proxy.url}"\nes_index = "{es_settings.index}"\n'
        )
        seen = []
        for env in ({"ES_API_KEY": secret_key}, {"ES_USERNAME": "indexer", "ES_PASSWORD": secret_pw}):
            res = run_cli("reindex", "--config", str(cfg), "--quiet", "--json", data_dir=cli_data, env=env)
            seen.append(res.stdout + res.stderr)
            assert res.returncode in (1, 3), res.stderr
            assert "403" in res.stdout + res.stderr and "unauthorized" in res.stdout + res.stderr
        url_with_pw = proxy.url.replace("http://", f"http://indexer:{secret_pw}@")
        res = run_cli("status", "--es-url", url_with_pw, "--es-index", "never-made", data_dir=cli_data)
        seen.append(res.stdout + res.stderr)
        assert res.returncode == 3
    finally:
        proxy.close()
    records = json.dumps(ElasticStore(es_settings).jobs(20))
    assert records.count('"status": "partial"') + records.count('"status": "failed"') >= 2
    for text in [*seen, records, repr(ESSettings(api_key=secret_key, password=secret_pw))]:
        assert secret_key not in text and secret_pw not in text
    record_reliability(
        "secrets",
        "API key and password through env and a URL, with 403 and 'index missing' failures",
        "absent from stdout, stderr, error messages, job records and repr",
    )


def test_an_outage_mid_job_ends_with_one_line_and_exit_3(
    es_url: str, es_settings: ESSettings, corpus: Path, cli_data: Path
) -> None:
    """Elasticsearch goes away at the first bulk write: the job's own error is what the user sees,
    not a traceback from releasing the lock on the way out."""
    state = {"down": False}

    def policy(method: str, path: str) -> str | None:
        state["down"] = state["down"] or "_bulk" in path
        return "close" if state["down"] else None

    proxy = FaultProxy(es_url, policy)
    try:
        res = run_cli(
            "index",
            str(corpus),
            "--quiet",
            "--es-url",
            proxy.url,
            "--es-index",
            es_settings.index,
            data_dir=cli_data,
            env={"ES_TIMEOUT": "2"},
        )
    finally:
        proxy.close()
    assert res.returncode == 3, res.stderr
    assert "Traceback" not in res.stderr and res.stderr.count("\n") == 1, res.stderr
    assert res.stderr.startswith("error: cannot reach Elasticsearch") and proxy.url.split("//")[1] in res.stderr
    record_reliability(
        "ES outage mid-job",
        "every connection dropped from the job's first bulk write on",
        "one line naming the unreachable cluster, exit 3, no traceback",
    )


@pytest.mark.parametrize(
    "url, shown",
    [
        ("http://indexer:pw-SECRET-77@es.example:9200/", "http://es.example:9200/"),
        ("https://indexer:pw-SECRET-77@[2001:db8::1]:9243", "https://[2001:db8::1]:9243"),
        ("http://indexer:pw-SECRET-77@es.example:70000", "http://es.example:70000"),
        ("http://indexer:pw@SECRET-77@es.example:9200?x=pw-SECRET-77", "http://es.example:9200"),  # a raw @ in it
    ],
)
def test_the_url_password_never_shows_and_any_url_can_be_shown(url: str, shown: str) -> None:
    """``repr`` printed the password inside ``url``; ``safe_url`` dropped IPv6 brackets and raised
    ValueError for a port above 65535 (so the message about a bad URL was itself a traceback)."""
    settings = ESSettings(url=url)
    assert settings.safe_url == shown
    assert "SECRET" not in repr(settings) and shown in repr(settings)
    assert any("SECRET-77" in s for s in settings.secrets())
    record_reliability(
        "secrets in the ES URL",
        "user:password@ in URLs with IPv6, a port over 65535, a raw @ in the password",
        "repr and messages show the URL without the password, brackets kept; no ValueError",
    )


def test_a_port_out_of_range_gets_one_message_without_the_password() -> None:
    with pytest.raises(StoreError, match=r"cannot configure the Elasticsearch client for http://127\.0\.0\.1:70000") as err:
        ElasticStore(ESSettings(url="http://indexer:pw-SECRET-77@127.0.0.1:70000"))
    assert "SECRET" not in str(err.value)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], None]]:
    """A directory on a tmpfs of 400 KiB (a disk that fills mid-job); calling the fixture's value
    with a size grows it (space freed). Mounting needs root, as CI runs."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(disk)], capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield lambda size: subprocess.run(["mount", "-o", f"remount,size={size}", str(disk)], check=True)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.parametrize("backend", ["lancedb", "elasticsearch"])
def test_a_store_that_fails_mid_job_exits_3_with_one_line_and_true_counts(
    backend: str, tmp_path: Path, cli_data: Path, request: pytest.FixtureRequest
) -> None:
    """LanceDB on a full disk raised RuntimeError (not OSError): a raw traceback, exit 1, and a
    job record of 'failed +0' although a dozen articles of the run were committed. Elasticsearch
    refusing writes mid-job recorded +0 the same way. After the fault, the store stays readable
    and the same command again converges."""
    src = tmp_path / "wire"
    src.mkdir()
    write_feed(src / "feed.jsonl", range(60), words=150)
    if backend == "lancedb":
        grow = request.getfixturevalue("small_disk")
        data = tmp_path / "disk" / "data"
        data.mkdir()
        where: list[str] = []
        probe: Callable[[], Store] = lambda: open_store(data, backend="lancedb")  # noqa: E731
        heal = lambda: grow("64m")  # noqa: E731
        cause = "No space left on device"
    else:
        es: ESSettings = request.getfixturevalue("es_settings")
        data, bulks, down = cli_data, [0], {"on": True}

        def policy(method: str, path: str) -> str | None:
            if "_bulk" in path:
                bulks[0] += 1
                return "close" if down["on"] and bulks[0] > 10 else None
            return None

        proxy = FaultProxy(es.url, policy)
        request.addfinalizer(proxy.close)
        where = ["--backend", "elasticsearch", "--es-url", proxy.url, "--es-index", es.index]
        probe = lambda: ElasticStore(es)  # noqa: E731
        heal = lambda: down.update(on=False)  # noqa: E731
        cause = "cannot reach Elasticsearch"
    res = run_cli("index", str(src), "--batch-size", "4", "--quiet", *where, data_dir=data, env={"ES_TIMEOUT": "5"})
    assert res.returncode == 3, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("error: ") and cause in res.stderr, res.stderr
    store = probe()
    if backend == "elasticsearch":
        store.optimize()  # make the committed writes visible (the failed run never got to it)
    committed = len(store.hashes())
    rec = store.jobs(1)[0]
    assert rec["status"] == "failed" and cause in rec["message"]
    assert 0 < committed < 60 and rec["added"] == committed  # the record says what the run really wrote
    heal()
    res = run_cli("index", str(src), "--batch-size", "4", "--quiet", "--json", *where, data_dir=data)
    assert res.returncode == 0, res.stderr
    again = json.loads(res.stdout)
    assert (again["added"], again["unchanged"]) == (60 - committed, committed)
    assert_store_equals(probe(), _by_dir(src))
    record_reliability(
        f"store fails mid-job ({backend})",
        "a 400 KiB disk filling mid-index" if backend == "lancedb" else "bulk writes refused after 10 requests",
        f"exit 3, one line ({cause}); job record +{rec['added']} = the {committed} articles committed; "
        f"re-run after the fault: +{again['added']}, store = sources",
    )
