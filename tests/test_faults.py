"""Backend faults and secrets: a slow Elasticsearch that times out mid-bulk, an app whose backend
goes down and comes back, and credentials that never appear in output, errors or job records."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from archive.config import ESSettings
from archive.embeddings import Embedder
from archive.jobs import JobRunner, config_from_paths
from archive.store.base import StoreError
from archive.store.elastic import ElasticStore

from .conftest import ROOT, record_reliability, run_cli
from .faultproxy import FaultProxy
from .test_jobs import assert_store_equals, job_file, write_feed


def test_timeouts_mid_bulk_are_retried_and_lose_nothing(es_url: str, es_settings: ESSettings, corpus: Path,
                                                        embedder: Embedder, tmp_path: Path) -> None:
    rng = random.Random(5)
    proxy = FaultProxy(es_url, lambda m, p: 2.5 if "_bulk" in p and rng.random() < 0.4 else None)
    try:
        write_feed(corpus / "feed.jsonl", range(24))
        store = ElasticStore(ESSettings.from_env(url=proxy.url, index=es_settings.index, timeout=1.0))
        rec = JobRunner(store, embedder).run(config_from_paths([corpus], batch_size=4))
    finally:
        proxy.close()
    assert rec.status == "ok" and rec.added == 29 and proxy.faults.get("delay", 0) >= 2
    direct = ElasticStore(es_settings)
    assert_store_equals(direct, _by_dir(corpus))
    record_reliability("ES timeouts mid-bulk", f"{proxy.faults['delay']} bulk requests held 2.5 s against a 1 s client timeout",
                       "all retried; 29 of 29 articles stored once, 0 lost, 0 duplicated")


def _by_dir(corpus: Path) -> dict[str, tuple[str, int]]:
    """What a job over the directory ``corpus`` (a source named after it) must leave in the store."""
    from archive.ingest import iter_articles, passages
    from archive.model import Article

    return {a.id: (a.content_hash, len(passages(a))) for a in iter_articles([corpus]) if isinstance(a, Article)}


def test_the_app_says_when_the_backend_is_down_and_recovers_by_itself(es_url: str, es_seed_store: ElasticStore,
                                                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
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
    record_reliability("app during an outage", "Elasticsearch dropped every connection, then came back",
                       "a one-line message while down, results again on the next search, no restart, no traceback")


def test_credentials_never_appear_in_output_errors_or_job_records(es_url: str, es_settings: ESSettings, corpus: Path,
                                                                  cli_data: Path, tmp_path: Path) -> None:
    secret_key, secret_pw = "k3y-SECRET-4f9a", "pw-SECRET-77"
    denied = b'{"error":{"type":"security_exception","reason":"action [indices:data/write/bulk] is unauthorized"},"status":403}'
    proxy = FaultProxy(es_url, lambda m, p: (403, denied) if "_bulk" in p else None)
    try:
        cfg = job_file(tmp_path, corpus, f'[store]\nbackend = "elasticsearch"\nes_url = "{proxy.url}"\nes_index = "{es_settings.index}"\n')
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
    record_reliability("secrets", "API key and password through env and a URL, with 403 and 'index missing' failures",
                       "absent from stdout, stderr, error messages, job records and repr")


@pytest.mark.parametrize("url, shown", [
    ("http://indexer:pw-SECRET-77@es.example:9200/", "http://es.example:9200/"),
    ("https://indexer:pw-SECRET-77@[2001:db8::1]:9243", "https://[2001:db8::1]:9243"),
    ("http://indexer:pw-SECRET-77@es.example:70000", "http://es.example:70000"),
    ("http://indexer:pw@SECRET-77@es.example:9200?x=pw-SECRET-77", "http://es.example:9200"),  # a raw @ in it
])
def test_the_url_password_never_shows_and_any_url_can_be_shown(url: str, shown: str) -> None:
    """``repr`` printed the password inside ``url``; ``safe_url`` dropped IPv6 brackets and raised
    ValueError for a port above 65535 (so the message about a bad URL was itself a traceback)."""
    settings = ESSettings(url=url)
    assert settings.safe_url == shown
    assert "SECRET" not in repr(settings) and shown in repr(settings)
    assert any("SECRET-77" in s for s in settings.secrets())


def test_a_port_out_of_range_gets_one_message_without_the_password() -> None:
    with pytest.raises(StoreError, match=r"cannot configure the Elasticsearch client for http://127\.0\.0\.1:70000") as err:
        ElasticStore(ESSettings(url="http://indexer:pw-SECRET-77@127.0.0.1:70000"))
    assert "SECRET" not in str(err.value)
