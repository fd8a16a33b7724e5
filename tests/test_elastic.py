"""The Elasticsearch backend against a real ES-compatible server over HTTP (noida-db, or the
cluster in $ES_URL): the whole Store protocol, the alias lifecycle, bulk faults, and the same
answers as the embedded store. Nothing here depends on ES-side Arabic analysis."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from archive.analysis import ANALYSIS_VERSION
from archive.config import ESSettings
from archive.embeddings import Embedder
from archive.ingest import passages
from archive.model import Article
from archive.pipeline import Indexer
from archive.query import parse
from archive.search import SearchService
from archive.store import open_store
from archive.store.base import (
    SCHEMA_VERSION,
    Filters,
    IndexMismatch,
    SemanticHit,
    StoreEmpty,
    StoreError,
    StoreLocked,
    activate_previous,
    prune,
)
from archive.store.elastic import ElasticStore, load_mapping, mapping_digest

from .conftest import ROOT, Searching, record_reliability, run_cli
from .faultproxy import FaultProxy

QUERIES = [
    ("الجيش السوري", "keyword"),
    ("روسيا ايران", "hybrid"),
    ('"قاعدة همدان الجوية"', "hybrid"),
    ("سليمانى موسكو", "keyword"),
    ("الجيش السوري -حلب", "hybrid"),
    ("روسي*", "keyword"),
    ("Russian bombers at an Iranian air base", "semantic"),
    ("Iran Russia joint command in Syria", "hybrid"),
    ("غارات روسية على حلب", "hybrid"),
    ("روسيا source:العربية", "hybrid"),
]


INT8_TOLERANCE = 0.02  # a real cluster scores int8_hnsw-quantized vectors; the embedded store is exact


def assert_same_neighbours(es: list[SemanticHit], exact: list[SemanticHit], articles: dict[str, Article]) -> None:
    """ES's kNN answer agrees with the embedded store's exact one as far as int8 quantization
    lets it: the same article versions, scores within the tolerance, an order that swaps only
    articles whose exact scores are that close, and each best passage one of its article's."""
    truth = {h.article_id: h for h in exact}
    assert {(h.article_id, h.content_hash) for h in es} == {(h.article_id, h.content_hash) for h in exact}
    for h in es:
        assert h.score == pytest.approx(truth[h.article_id].score, abs=INT8_TOLERANCE), h.article_id
        assert (h.n, h.start, h.end) in {(p.n, p.start, p.end) for p in passages(articles[h.article_id])}
    for a, b in zip(es, es[1:], strict=False):
        assert truth[a.article_id].score >= truth[b.article_id].score - INT8_TOLERANCE, (a.article_id, b.article_id)


def _feed(path: Path, n: int, seed: int = 7) -> Path:
    """``n`` generated Arabic articles as JSONL (distinct words, so each is findable)."""
    rng = random.Random(seed)
    words = "الحكومة البرلمان الاقتصاد النفط الانتخابات المدينة الجامعة الطاقة الميناء المطار الوزير".split()
    lines = []
    for i in range(n):
        body = " ".join(rng.choice(words) for _ in range(60)) + f" رمز{i:04d}"
        lines.append(
            json.dumps(
                {
                    "id": f"gen-{i}",
                    "title": f"خبر رقم {i}",
                    "body": body,
                    "source": "مولد",
                    "published_at": f"2023-0{1 + i % 9}-1{i % 10}",
                },
                ensure_ascii=False,
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_index_is_created_from_the_mapping_file_behind_an_alias(es_settings: ESSettings) -> None:
    store = ElasticStore(es_settings)
    store.check_compatible("intfloat/multilingual-e5-small", 384, ANALYSIS_VERSION)
    gens = store.generations()
    assert [(g.name, g.active) for g in gens] == [(f"{es_settings.index}-v1", True)]
    mapping = store.es.indices.get_mapping(index=es_settings.index)[gens[0].name]["mappings"]
    meta = dict(mapping["_meta"])
    assert meta.pop("switched_at")  # readers were switched to it: a complete generation
    assert meta == {
        "model": "intfloat/multilingual-e5-small",
        "dim": 384,
        "analysis_version": ANALYSIS_VERSION,
        "schema_version": SCHEMA_VERSION,
        "mapping_digest": mapping_digest(),
    }
    wanted = load_mapping("m", 384, ANALYSIS_VERSION)["mappings"]["properties"]
    props = mapping["properties"]
    assert set(props) == set(wanted)
    vec = props["passages"]["properties"]["vector"]
    assert props["passages"]["type"] == "nested" and vec["dims"] == 384 and vec["similarity"] == "cosine"
    assert vec["index_options"]["type"] == "int8_hnsw"
    assert props["stem"]["analyzer"] == "preanalyzed" and props["body"]["analyzer"] == "arabic"
    # the same model again is fine; another model or dimension is refused, naming the difference
    store.check_compatible("intfloat/multilingual-e5-small", 384, ANALYSIS_VERSION)
    with pytest.raises(IndexMismatch, match="dim"):
        store.check_compatible("intfloat/multilingual-e5-small", 768, ANALYSIS_VERSION)
    with pytest.raises(IndexMismatch, match="model"):
        store.check_compatible("other/model", 384, ANALYSIS_VERSION)


def test_read_only_store_on_a_missing_index_says_so(es_settings: ESSettings) -> None:
    with pytest.raises(StoreEmpty, match=f"no index '{es_settings.index}'.*run the indexer"):
        ElasticStore(es_settings, read_only=True)
    writer = ElasticStore(es_settings)  # before its first write, an empty alias reads as empty
    assert writer.keyword(parse("روسيا").tree, Filters(), 10) == [] and writer.hashes() == {} and writer.info().articles == 0
    writer.check_compatible("m", 384, ANALYSIS_VERSION)
    reader = ElasticStore(es_settings, read_only=True)
    with pytest.raises(StoreError, match="read-only"):
        reader.delete(["x"])
    with pytest.raises(StoreError, match="read-only"):
        reader.new_generation("m", 384, ANALYSIS_VERSION)


@pytest.mark.parametrize("query,mode", QUERIES)
def test_same_top5_and_snippets_as_the_embedded_store(
    query: str, mode: str, service: SearchService, es_seed_store: ElasticStore, embedder: Embedder
) -> None:
    es = SearchService(es_seed_store, embedder).search(query, mode=mode, page_size=5)
    lance = service.search(query, mode=mode, page_size=5)
    assert [h.article.id for h in es.hits] == [h.article.id for h in lance.hits]
    assert es.hits, query
    assert [h.snippet_html for h in es.hits] == [h.snippet_html for h in lance.hits]
    assert [h.title_html for h in es.hits] == [h.title_html for h in lance.hits]
    for a, b in zip(es.hits, lance.hits, strict=False):
        assert (a.keyword_rank, a.semantic_rank) == (b.keyword_rank, b.semantic_rank)
        if a.semantic_score is not None:
            assert a.semantic_score == pytest.approx(b.semantic_score, abs=INT8_TOLERANCE)


def test_a_300_character_url_is_one_term_on_both_backends(es_settings: ESSettings, embedder: Embedder, tmp_path: Path) -> None:
    """The analysis keeps a URL whole; ES's whitespace tokenizer cut tokens at 255 characters, so
    such a term (or a phrase with it) matched nothing on ES while the embedded store found it."""
    url = ("https://archive.example.com/" + "/".join(f"section-{i:03d}" for i in range(30)))[:299] + "x"
    assert len(url) == 300
    articles = [
        {"id": "with-url", "title": "رابط طويل", "body": f"للمزيد انظر الرابط {url} اليوم", "source": "مولد"},
        {"id": "without", "title": "خبر آخر", "body": "انظر الرابط في الموقع اليوم", "source": "مولد"},
    ]
    feed = tmp_path / "url.jsonl"
    feed.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles), encoding="utf-8")
    for store in (ElasticStore(es_settings), open_store(tmp_path / "lance")):
        assert Indexer(store, embedder, progress=False).run([feed]).added == 2
        svc = SearchService(store, embedder)
        for query in (url, f'"الرابط {url} اليوم"'):
            assert [h.article.id for h in svc.search(query, mode="keyword").hits] == ["with-url"], (store.backend, query)


def test_store_protocol_reads(es_seed_store: ElasticStore, service: SearchService, embedder: Embedder) -> None:
    store, lance = es_seed_store, service.store
    hashes = store.hashes()
    assert hashes == lance.hashes() and len(hashes) == 5
    arts = store.get([*hashes, "no-such-id"])
    assert arts == lance.get(list(hashes))
    probe = ["الجيش", "\x1fجيش", "\x1fالجيش", "moscow", "\x1f2231", "x" * 600]
    assert store.known_terms(probe) == lance.known_terms(probe) == {"الجيش", "\x1fجيش", "\x1f2231"}
    meta, lmeta = store.get(list(hashes), text=False), lance.get(list(hashes), text=False)
    assert meta == lmeta and all(m.title == m.body == "" for m in meta.values())  # no text read
    assert {i: replace(a, title="", body="") for i, a in arts.items()} == meta
    info, linfo = store.info(), lance.info()
    assert (info.articles, info.passages, info.dim, info.model) == (5, 20, 384, linfo.model)
    assert (info.sources, info.years) == (linfo.sources, linfo.years)  # aggregations = the embedded counts
    assert info.location.endswith(f"{store.alias}-v1")
    # filters apply inside the kNN search, not after it
    vec = embedder.queries(["Russian air strikes in Syria"])[0]
    only = store.semantic(vec, Filters(sources=("العربية",)), 5)
    assert [arts[h.article_id].source for h in only] == ["العربية"]
    sem = store.semantic(vec, Filters(), 10)
    assert len(sem) == 5 and len({h.article_id for h in sem}) == 5
    best = sem[0]
    assert_same_neighbours(sem, lance.semantic(vec, Filters(), 10), arts)
    assert best.content_hash == arts[best.article_id].content_hash and 0 <= best.start < best.end and -1 <= best.score <= 1
    dated = next(a for a in arts.values() if a.published_at)
    day = dated.published_at.date()
    assert store.browse(Filters(date_from=day, date_to=day), 10) == [dated.id]
    assert store.browse(Filters(date_from=day + dt.timedelta(days=1)), 10) == []
    assert store.browse(Filters(), 10)[0] == dated.id  # newest first, undated last
    near = store.neighbours(best.article_id, 3)
    assert len(near) == 3 and best.article_id not in {h.article_id for h in near}


def test_writes_updates_and_deletes(es_settings: ESSettings, corpus: Path, embedder: Embedder) -> None:
    store = ElasticStore(es_settings)
    report = Indexer(store, embedder, progress=False).run([corpus])
    assert (report.added, report.failed) == (5, 0)
    svc = SearchService(store, embedder)
    f = next(corpus.glob("003_*.txt"))
    f.write_text(f.read_text(encoding="utf-8") + "\nوأعلن الكرملين عن زيارة مرتقبة لوفد من طاجيكستان.", encoding="utf-8")
    calls = embedder.calls
    again = Indexer(store, embedder, progress=False).run([corpus])
    assert (again.added, again.updated, again.unchanged) == (0, 1, 4) and embedder.calls == calls + again.passages > calls
    hit = svc.search("طاجيكستان", mode="keyword").hits
    assert [h.article.path.split("/")[-1][:3] for h in hit] == ["003"] and "<mark>طاجيكستان</mark>" in hit[0].snippet_html
    assert store.info().articles == 5  # replaced, not duplicated
    assert store.delete([hit[0].article.id, "never-indexed"]) == 1
    store.optimize()
    assert svc.search("طاجيكستان", mode="keyword").hits == [] and store.info().articles == 4


def test_full_rebuild_swaps_the_alias_atomically_and_rolls_back(
    es_settings: ESSettings, corpus: Path, embedder: Embedder, tmp_path: Path
) -> None:
    store = ElasticStore(es_settings)
    Indexer(store, embedder, progress=False).run([corpus])
    svc = SearchService(ElasticStore(es_settings, read_only=True), embedder)
    feed = _feed(tmp_path / "feed.jsonl", 6)
    with Searching(svc, "روسيا") as reader:  # through the alias, all through the rebuild and the swap
        new = store.new_generation(embedder.name, embedder.dim, ANALYSIS_VERSION)
        settings = store.es.indices.get_settings(index=new.target)[new.target]["settings"]["index"]
        assert settings["refresh_interval"] == "-1" and str(settings["number_of_replicas"]) == "0"
        report = Indexer(new, embedder, progress=False).run([corpus, feed])
        assert report.added == 11
        assert svc.search("رمز0003", mode="keyword").hits == []  # not switched yet: readers see v1
        store.activate(new.target)
    assert reader.errors == [] and len(reader.totals) > 3 and set(reader.totals) == {5}
    settings = store.es.indices.get_settings(index=new.target)[new.target]["settings"]["index"]
    assert settings["refresh_interval"] == "1s"  # normal settings restored before the switch
    assert [h.article.id for h in svc.search("رمز0003", mode="keyword").hits] == ["gen-3"]
    gens = store.generations()
    assert [(g.number, g.active, g.articles) for g in gens] == [(1, False, 5), (2, True, 11)]
    assert activate_previous(store) == f"{es_settings.index}-v1"
    assert svc.search("رمز0003", mode="keyword").hits == [] and svc.store.info().articles == 5
    with pytest.raises(StoreError, match="no complete generation older than"):
        activate_previous(store)
    with pytest.raises(StoreError, match="active generation"):
        store.drop(f"{es_settings.index}-v1")
    assert prune(store, keep=0) == [f"{es_settings.index}-v2"]
    assert [g.number for g in store.generations()] == [1]


def test_a_storm_of_429s_503s_and_dropped_connections_loses_nothing(
    es_url: str, es_settings: ESSettings, corpus: Path, embedder: Embedder, tmp_path: Path
) -> None:
    rng = random.Random(42)

    def policy(method: str, path: str) -> int | str | None:
        if "_bulk" not in path:
            return None
        roll = rng.random()
        return 429 if roll < 0.45 else 503 if roll < 0.55 else "close" if roll < 0.6 else None

    proxy = FaultProxy(es_url, policy)
    try:
        store = ElasticStore(ESSettings.from_env(url=proxy.url, index=es_settings.index))
        feed = _feed(tmp_path / "feed.jsonl", 40)
        report = Indexer(store, embedder, batch_size=4, progress=False).run([corpus, feed])
    finally:
        proxy.close()
    assert report.errors == [] and report.added == 45
    assert sum(proxy.faults.values()) >= 10, proxy.faults  # the storm really happened
    record_reliability(
        "ES fault storm",
        f"{sum(proxy.faults.values())} faults on bulk requests ({proxy.faults}) while indexing 45 articles in batches of 4",
        "all retried with backoff; 45 of 45 stored once, 0 lost, 0 duplicated",
    )
    direct = ElasticStore(es_settings)
    direct.optimize()
    assert direct.es.count(index=es_settings.index)["count"] == 45  # none lost, none duplicated
    assert len(direct.hashes()) == 45 and direct.info().passages == report.passages


def test_bulk_failures_are_reported_per_article_and_keep_what_was_indexed(
    es_url: str, es_settings: ESSettings, corpus: Path, embedder: Embedder, tmp_path: Path
) -> None:
    Indexer(ElasticStore(es_settings), embedder, progress=False).run([corpus])
    proxy = FaultProxy(es_url, lambda m, p: 400 if "_bulk" in p else None)
    try:
        store = ElasticStore(ESSettings.from_env(url=proxy.url, index=es_settings.index))
        report = Indexer(store, embedder, progress=False).run([_feed(tmp_path / "feed.jsonl", 3)])
    finally:
        proxy.close()
    assert report.added == 0 and report.failed == 3
    assert sorted(str(e).split("'")[1] for e in report.errors) == ["gen-0", "gen-1", "gen-2"]
    assert all("not written" in str(e) and "400" in str(e) for e in report.errors)
    assert ElasticStore(es_settings).info().articles == 5  # what was there is untouched


def test_connection_problems_get_clear_messages_without_secrets(es_url: str) -> None:
    from .es_server import free_port

    with pytest.raises(StoreError, match=r"cannot reach Elasticsearch at http://127\.0\.0\.1:\d+"):
        ElasticStore(ESSettings(url=f"http://127.0.0.1:{free_port()}", timeout=2))
    secret = "s3cr3t-Pa55"
    with pytest.raises(StoreError) as caught:
        ElasticStore(ESSettings(url=f"http://elastic:{secret}@127.0.0.1:{free_port()}", api_key=None, timeout=2))
    assert secret not in str(caught.value) and "elastic:" not in str(caught.value)
    assert secret not in repr(ESSettings(url="http://x", api_key=secret, password=secret))

    def unauthorized(method: str, path: str) -> tuple[int, bytes]:
        return 401, b'{"error":{"type":"security_exception","reason":"unable to authenticate"},"status":401}'

    proxy = FaultProxy(es_url, unauthorized)
    try:
        with pytest.raises(StoreError, match="refused the credentials.*ES_API_KEY") as caught:
            ElasticStore(ESSettings(url=proxy.url, api_key=secret))
        assert secret not in str(caught.value)
    finally:
        proxy.close()


def _claiming(es_url: str, version: str) -> FaultProxy:
    """A proxy to the test server that answers the version check with ``version``."""
    info = b'{"version":{"number":"%s"},"tagline":"You Know, for Search"}' % version.encode()
    return FaultProxy(es_url, lambda m, p: (200, info) if p == "/" else None)


@pytest.mark.parametrize(
    "version,refused",
    [
        ("7.17.0", "not supported: this client talks to 8.12.1"),
        ("8.11.4", "not supported"),
        ("8.12.0", "int8_hnsw vectors may fail to merge segments.*fixed in 8.12.1"),
        ("8.12.1", None),
        ("8.14.3", None),
        ("9.1.0", None),
        ("10.0.0", "not supported"),
    ],
)
def test_the_version_check_refuses_what_breaks(version: str, refused: str | None, es_url: str) -> None:
    proxy = _claiming(es_url, version)
    try:
        if refused:
            with pytest.raises(StoreError, match=f"Elasticsearch {re.escape(version)} at .*{refused}"):
                ElasticStore(ESSettings(url=proxy.url))
        else:
            ElasticStore(ESSettings(url=proxy.url))
    finally:
        proxy.close()


@pytest.mark.parametrize("version,server", [("8.14.3", False), ("8.15.0", True)])
def test_server_side_rrf_only_where_the_retriever_takes_rank_window_size(
    version: str, server: bool, es_url: str, es_seed_store: ElasticStore, embedder: Embedder
) -> None:
    proxy = _claiming(es_url, version)
    try:
        store = ElasticStore(ESSettings.from_env(url=proxy.url, index=es_seed_store.alias, server_rrf=True), read_only=True)
        res = SearchService(store, embedder).search("روسيا ايران", page_size=5)
    finally:
        proxy.close()
    ours = SearchService(es_seed_store, embedder).search("روسيا ايران", page_size=5)
    assert store.server_rrf is server and res.hits
    warned = [w for w in res.warnings if "needs Elasticsearch 8.15" in w]
    if server:  # the cluster fused: no per-channel ranks
        assert not warned and all(h.match == "" for h in res.hits)
    else:  # client fusion, the same answer as without --es-server-rrf, and the user is told
        assert warned and version in warned[0]
        assert [(h.article.id, h.fused_score, h.match) for h in res.hits] == [
            (h.article.id, h.fused_score, h.match) for h in ours.hits
        ]


@pytest.mark.parametrize("lost_call", ["create", "renewal"])
def test_a_lock_write_whose_answer_is_lost_keeps_the_lock(lost_call: str, es_url: str, es_settings: ESSettings) -> None:
    """The server stores the lock (taken or renewed) but its answer never arrives: the job must
    still hold its lease (not refuse itself, not lose it to a stale version), and a second job
    must still be refused."""
    lost: list[str] = []

    def policy(method: str, path: str) -> str | None:
        lock_write = method == "PUT" and "/_doc/lock" in path
        which = "create" if "op_type=create" in path else "renewal" if "if_seq_no" in path and "refresh" not in path else ""
        if lock_write and which == lost_call and not lost:
            lost.append(path)
            return "lost"
        return None

    ttl = 1.5
    proxy = FaultProxy(es_url, policy)
    try:
        holder = ElasticStore(ESSettings.from_env(url=proxy.url, index=es_settings.index, lock_ttl=ttl))
        with holder.lock("holder-job"):
            time.sleep(3 * ttl)  # the lost renewal, then two whole leases
            assert lost and proxy.faults == {"lost": 1}
            with pytest.raises(StoreLocked, match="holder-job"):
                with ElasticStore(replace(es_settings, lock_ttl=ttl)).lock("second-job"):
                    pass
    finally:
        proxy.close()
    with ElasticStore(es_settings).lock("third-job"):  # released at the end
        pass


def test_server_side_rrf_matches_client_side_fusion(es_seed_store: ElasticStore, embedder: Embedder) -> None:
    server = ElasticStore(
        ESSettings.from_env(url=es_seed_store.settings.url, index=es_seed_store.alias, server_rrf=True), read_only=True
    )
    for query in ("روسيا ايران", "Iran Russia joint command in Syria", "الجيش السوري -حلب"):
        ours = SearchService(es_seed_store, embedder).search(query, page_size=5)
        theirs = SearchService(server, embedder).search(query, page_size=5)
        # the server's unweighted RRF is twice our 0.5/0.5 weighted one, article by article
        # (equal scores may come in another order: our tie-break prefers the keyword rank)
        assert {h.article.id: h.fused_score for h in theirs.hits} == pytest.approx(
            {h.article.id: 2 * h.fused_score for h in ours.hits}, rel=1e-3
        ), query
        assert all(h.match == "" and h.keyword_rank is None for h in theirs.hits)


def test_deep_pages_stay_within_what_a_cluster_answers(es_seed_store: ElasticStore, embedder: Embedder) -> None:
    """Page 60 of 100 would ask each channel for 12,000 hits; a cluster refuses k, size and
    from + size over 10,000 (and num_candidates below k): every path caps its depth."""
    server = ElasticStore(replace(es_seed_store.settings, server_rrf=True), read_only=True)
    for store in (es_seed_store, server):
        svc = SearchService(store, embedder)
        for query, mode in [("روسيا", "keyword"), ("روسيا", "semantic"), ("روسيا -حلب", "hybrid"), ("source:العربية", "hybrid")]:
            first = svc.search(query, mode=mode, page_size=100)
            deep = svc.search(query, mode=mode, page=60, page_size=100)
            assert first.hits and deep.hits == [] and deep.total == first.total, (store.server_rrf, query, mode)


def test_vectors_round_trip_through_the_centroid(es_seed_store: ElasticStore) -> None:
    aid = next(iter(es_seed_store.hashes()))
    near = es_seed_store.neighbours(aid, 4)
    assert len(near) == 4 and all(-1 <= h.score <= 1 for h in near)
    assert near == sorted(near, key=lambda h: -h.score)
    assert es_seed_store.neighbours("no-such-article", 3) == []
    assert np.isfinite([h.score for h in near]).all()


def test_mapping_file_is_used_as_is() -> None:
    raw = json.loads((ROOT / "mappings" / "news.json").read_text(encoding="utf-8"))
    filled = load_mapping("intfloat/multilingual-e5-small", 384, ANALYSIS_VERSION)
    assert filled["settings"] == raw["settings"]
    assert filled["mappings"]["properties"]["passages"]["properties"]["vector"]["dims"] == 384
    assert filled["mappings"]["_meta"]["model"] == "intfloat/multilingual-e5-small"
    assert json.dumps(filled).count("{{") == 0


def test_cli_indexes_searches_and_reports_on_elasticsearch(es_settings: ESSettings, cli_data: Path, corpus: Path) -> None:
    flags = ["--es-url", es_settings.url, "--es-index", es_settings.index]  # --es-url alone selects the backend
    res = run_cli("index", str(corpus), "--quiet", "--json", *flags, data_dir=cli_data)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["added"] == 5
    assert not (cli_data / "lancedb").exists()  # nothing went to the embedded store
    res = run_cli("search", "قاعدة همدان", "--json", "--mode", "keyword", *flags, data_dir=cli_data)
    hits = json.loads(res.stdout)["hits"]
    assert res.returncode == 0 and hits[0]["path"].startswith("corpus/000") and "<mark>همدان</mark>" in hits[0]["snippet_html"]
    res = run_cli("status", *flags, data_dir=cli_data)
    assert "backend   elasticsearch" in res.stdout and f"{es_settings.index}-v1: 5 articles  ← active" in res.stdout
    res = run_cli("status", data_dir=cli_data, env={"ES_URL": es_settings.url, "ES_INDEX": "never-created"})
    assert res.returncode == 3 and "no index 'never-created'" in res.stderr and "run the indexer" in res.stderr
    res = run_cli("status", data_dir=cli_data, env={"ARCHIVE_BACKEND": "solr"})
    assert res.returncode == 2 and "unknown backend 'solr'" in res.stderr
    for bad in ("ten", "-5"):  # a setting the user can fix is a usage error naming it, not a traceback
        res = run_cli("status", *flags, data_dir=cli_data, env={"ES_TIMEOUT": bad})
        assert res.returncode == 2 and "$ES_TIMEOUT" in res.stderr and "Traceback" not in res.stderr, res.stderr


def _readme_requests() -> list[tuple[str, str, dict | None]]:
    """The Kibana Dev Tools requests in the README's ```console blocks."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out: list[tuple[str, str, dict | None]] = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        for m in re.finditer(r"^(GET|POST|PUT) (\S+)\n(\{.*?^\})?", block, re.S | re.M):
            out.append((m.group(1), m.group(2), json.loads(m.group(3)) if m.group(3) else None))
    return out


def test_readme_direct_queries_run_as_written(es_seed_store: ElasticStore, embedder: Embedder) -> None:
    """The README's copy-paste examples are valid requests on the index this code builds."""
    requests = _readme_requests()
    assert len(requests) >= 7 and sum(p.startswith("_security/role/") for _, p, b in requests if b) == 2
    for method, path, body in requests:
        if path.startswith("_security/"):  # the test server has no security APIs: the JSON parsed above
            assert body and {i for r in body["indices"] for i in r["names"]} == {"news", "news-v*", "news-jobs"}
            continue
        path = "/" + path.replace("news", es_seed_store.alias, 1)
        res = es_seed_store.es.perform_request(
            method,
            path,
            body=body,
            headers={"accept": "application/json", **({"content-type": "application/json"} if body else {})},
        )
        if path.startswith(f"/_alias/{es_seed_store.alias}"):
            assert list(res.body) == [f"{es_seed_store.alias}-v1"]
        if "_meta" in path:
            assert next(iter(res.body.values()))["mappings"]["_meta"]["dim"] == 384
    curl = re.search(r"-d '(\{.*?\})'\n", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    assert curl
    vec = json.dumps([float(x) for x in embedder.queries(["Russian bombers at an Iranian air base"])[0]])
    res = es_seed_store.es.search(index=es_seed_store.alias, body=json.loads(curl.group(1).replace("'\"$VEC\"'", vec)))
    hits = res["hits"]["hits"]
    assert hits and all(h["_source"]["title"] for h in hits)
    assert hits[0]["inner_hits"]["passages"]["hits"]["hits"][0]["fields"]["passages"][0]["text"]
