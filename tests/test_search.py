"""The real pipeline on seeds/: real model, real LanceDB on disk, the hybrid search service."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from archive.analysis import ANALYSIS_VERSION
from archive.config import DEFAULT_MODEL
from archive.embeddings import Embedder
from archive.ingest import iter_articles
from archive.pipeline import Indexer
from archive.query import parse
from archive.search import SearchService, hybrid_weights, query_words, rrf
from archive.store import open_store
from archive.store.base import Filters, IndexMismatch, StoreEmpty

from .conftest import record_reliability


def top(service: SearchService, query: str, mode: str = "hybrid", n: int = 1, **kw) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.article.path.split("/")[-1][:3] for h in service.search(query, mode=mode, **kw).hits[:n]]


@pytest.mark.parametrize(
    "query,expected",
    [
        ("شمخانى", "001"),  # ى for ي
        ("لاريجانى", "000"),
        ("سليمانى موسكو", "003"),
        ("الْقَاعِدَةُ الإيرانيّة", "000"),  # diacritics and shadda in the query, none in the text
        ("بالسوخوي", "000"),  # clitics the text does not have (text: سوخوي-34)
        ("قاعدة همدان", "000"),
        ("يصعد غارات", "004"),  # the text has يُصعِد and غاراته
        ('"مقراً عسكرياً مشتركاً"', "001"),
    ],
)
def test_arabic_variants_find_the_article(service: SearchService, query: str, expected: str) -> None:
    assert top(service, query, "keyword") == [expected]
    assert expected in top(service, query, "hybrid", n=2)  # the semantic channel may outrank it


@pytest.mark.parametrize(
    "query,expected",
    [
        ("Iran and Russia set up a joint military command headquarters in Syria", "001"),
        ("Russian Sukhoi bombers took off from an Iranian air base at Hamadan", "000"),
        ("Reuters report on Qassem Soleimani's visit to Moscow to plan the Russian intervention", "003"),
    ],
)
def test_english_queries_find_the_article_semantically(service: SearchService, query: str, expected: str) -> None:
    res = service.search(query, mode="hybrid")
    assert res.hits[0].article.path.split("/")[-1].startswith(expected)
    assert res.hits[0].match == "semantic" and res.hits[0].semantic_rank == 1
    assert service.search(query, mode="keyword").hits == []


def test_exclusion_removes_hits_from_both_channels(service: SearchService) -> None:
    all_hits = {h.article.path.split("/")[-1][:3] for h in service.search("الجيش السوري", page_size=10).hits}
    assert "004" in all_hits
    res = service.search("الجيش السوري -حلب", page_size=10)
    kept = {h.article.path.split("/")[-1][:3] for h in res.hits}
    assert "004" not in kept and kept  # 004 mentions حلب
    for h in res.hits:
        assert "حلب" not in h.article.text


def test_required_phrase_and_source_filter(service: SearchService) -> None:
    res = service.search('"قاعدة همدان الجوية"', mode="hybrid", page_size=10)
    assert [h.article.path.split("/")[-1][:3] for h in res.hits] == ["000"]
    assert [h.article.path.split("/")[-1][:3] for h in service.search("روسيا source:العربية", page_size=10).hits] == ["001"]
    browse = service.search("source:العربية")
    assert [h.article.path.split("/")[-1][:3] for h in browse.hits] == ["001"] and not browse.warnings
    assert service.search("source:العربية -شمخاني").hits == []  # exclusions apply when browsing too
    assert service.search("روسيا from:2015-12-01 to:2015-12-31").total == 1


def test_highlights_mark_original_words(service: SearchService) -> None:
    hit = service.search("يصعد", mode="keyword").hits[0]
    assert "<mark>يُصعِد</mark>" in hit.title_html  # diacritics of the original kept inside the mark
    hit = service.search("الجيش السوري", mode="keyword").hits[0]
    assert "<mark>الجيش</mark>" in hit.snippet_html and hit.matched_words > 0
    semantic = service.search("Russian Sukhoi bombers took off from an Iranian air base", mode="semantic").hits[0]
    assert semantic.passage is not None and "<mark>" not in semantic.snippet_html


def test_explanations_and_paging(service: SearchService) -> None:
    res = service.search("روسيا ايران", page_size=2)
    assert res.total == 5 and len(res.hits) == 2
    h = res.hits[0]
    assert h.keyword_rank == 1 and h.semantic_rank is not None and h.fused_score > 0
    page2 = service.search("روسيا ايران", page_size=2, page=2)
    assert {x.article.id for x in page2.hits}.isdisjoint({x.article.id for x in res.hits})
    newest = service.search("روسيا", sort="newest", page_size=5)
    assert newest.hits[0].article.published_at is not None


def test_hybrid_weights_follow_the_share_of_known_words() -> None:
    words = query_words(parse('جيش "قاعدة همدان" moscow حلب*'))  # the prefix is not a word here
    assert sorted(words) == sorted([("\x1fجيش",), ("قاعده", "همدان"), ("\x1fmoscow",)])
    assert hybrid_weights(0.5, words, {t for w in words for t in w}) == (0.5, 0.5)
    assert hybrid_weights(0.3, words, {"\x1fجيش", "قاعده"}) == pytest.approx((0.7 / 3, 0.3))  # a phrase needs all its terms
    assert hybrid_weights(0.5, words, set()) == (0.0, 0.5)
    assert hybrid_weights(0.5, [], set()) == (0.5, 0.5)  # nothing to weigh: as chosen


def test_english_query_with_one_indexed_token_barely_votes_by_keyword(service: SearchService) -> None:
    """Only '2231' of this English query occurs in the Arabic seeds: the keyword channel, which
    matches that stray number, votes with a tenth-ish of its weight; Arabic words vote fully."""
    q = "Iran and Russia set up a joint military command headquarters in Syria 2231"
    words = query_words(parse(q))
    known = service.store.known_terms(sorted({t for w in words for t in w}))
    assert known == {"\x1f2231"} and len(words) >= 8
    res = service.search(q, mode="hybrid")
    hit = next(h for h in res.hits if h.keyword_rank)
    share = 1 / len(words)
    assert res.weights == (round(0.5 * share, 4), 0.5)
    assert hit.fused_score == pytest.approx(0.5 * share / 61 + 0.5 / (60 + hit.semantic_rank), abs=1e-6)
    ar = service.search("الجيش السوري", mode="hybrid").hits[0]
    assert ar.fused_score == pytest.approx(0.5 / (60 + ar.keyword_rank) + 0.5 / (60 + ar.semantic_rank), abs=1e-6)


def test_rrf_weights() -> None:
    fused = rrf([(["a", "b"], 1.0), (["b", "c"], 1.0)])
    assert max(fused, key=fused.get) == "b"
    only_kw = rrf([(["a", "b"], 1.0), (["b", "c"], 0.0)])
    assert set(only_kw) == {"a", "b"} and only_kw["a"] > only_kw["b"]


def test_reindex_unchanged_writes_nothing(seed_store_dir: Path, embedder: Embedder) -> None:
    store = open_store(seed_store_dir)
    versions = {n: store._require(n).version for n in ("articles", "passages")}  # noqa: SLF001
    calls = embedder.calls
    report = Indexer(store, embedder, progress=False).run([Path(__file__).resolve().parent.parent / "seeds"])
    assert (report.added, report.updated, report.unchanged, report.passages) == (0, 0, 5, 0)
    assert embedder.calls == calls
    assert {n: store._require(n).version for n in versions} == versions  # noqa: SLF001


def test_change_delete_add(tmp_path: Path, corpus: Path, embedder: Embedder) -> None:
    store = open_store(tmp_path / "data")
    Indexer(store, embedder, progress=False).run([corpus])
    svc = SearchService(store, embedder)
    f = next(corpus.glob("003_*.txt"))
    f.write_text(f.read_text(encoding="utf-8") + "\nوأعلن الكرملين عن زيارة مرتقبة لوفد من طاجيكستان.", encoding="utf-8")
    calls = embedder.calls
    report = Indexer(store, embedder, progress=False).run([corpus])
    assert (report.added, report.updated, report.unchanged) == (0, 1, 4)
    art = next(iter_articles([f]))
    assert embedder.calls - calls == report.passages > 0  # only the changed article was embedded
    assert top(svc, "طاجيكستان", "keyword") == ["003"]
    info = store.info()
    assert info.articles == 5 and info.passages == 20 + (report.passages - 4)
    assert store.delete([art.id]) == 1
    assert top(svc, "طاجيكستان", "keyword") == [] and store.info().articles == 4


def test_new_jsonl_article_is_found_and_escaped(tmp_path: Path, embedder: Embedder) -> None:
    feed = tmp_path / "feed.jsonl"
    evil = {
        "id": "x1",
        "title": "<script>alert(1)</script> عاجل",
        "body": "خبر عاجل عن <img src=x onerror=alert(1)> طاجيكستان",
        "source": "رويترز",
    }
    feed.write_text(json.dumps(evil, ensure_ascii=False) + "\n", encoding="utf-8")
    store = open_store(tmp_path / "data")
    Indexer(store, embedder, progress=False).run([feed])
    hit = SearchService(store, embedder).search("طاجيكستان عاجل").hits[0]
    assert hit.article.id == "x1"
    assert "<script" not in hit.title_html and "&lt;script&gt;" in hit.title_html
    assert "<img" not in hit.snippet_html and "&lt;img" in hit.snippet_html
    assert "<mark>طاجيكستان</mark>" in hit.snippet_html


def test_store_refuses_other_model_and_read_only_missing(tmp_path: Path, seed_store_dir: Path) -> None:
    store = open_store(seed_store_dir)
    with pytest.raises(IndexMismatch, match="dim"):
        store.check_compatible("intfloat/multilingual-e5-small", 768, ANALYSIS_VERSION)
    with pytest.raises(IndexMismatch, match="model"):
        store.check_compatible("other/model", 384, ANALYSIS_VERSION)
    with pytest.raises(StoreEmpty):
        open_store(tmp_path / "nothing", read_only=True)


def test_similar_articles(service: SearchService) -> None:
    seed = service.search("قاعدة همدان", mode="keyword").hits[0].article
    similar = service.similar(seed.id, limit=3)
    assert len(similar) == 3 and seed.id not in {a.id for a, _ in similar}
    assert all(0 < s <= 1 for _, s in similar)


def test_stale_passage_from_an_interrupted_write_never_hides_the_article(
    tmp_path: Path, corpus: Path, embedder: Embedder
) -> None:
    """A write killed between step 1 (new passages) and step 2 (article row) leaves passages of a
    version that never committed; the article must still be found through its live passages."""
    import pyarrow as pa

    store = open_store(tmp_path / "data")
    Indexer(store, embedder, progress=False).run([corpus])
    query = "Russian Sukhoi bombers took off from an Iranian air base at Hamadan"
    vec = embedder.queries([query])[0]
    svc = SearchService(store, embedder)
    target = svc.search(query, mode="semantic").hits[0].article
    live_rows = store._require("passages").search().where(f"article_id = '{target.id}'").to_list()  # noqa: SLF001
    stale = dict(live_rows[0], pid=f"{target.id}:deadbeef:0", content_hash="deadbeef", vector=vec.tolist())
    stale = {k: v for k, v in stale.items() if not k.startswith("_")}
    store._require("passages").add(pa.Table.from_pylist([stale], schema=store._schemas(384)["passages"]))  # noqa: SLF001
    raw = store.semantic(vec, Filters(), 6)
    assert (raw[0].article_id, raw[0].content_hash, raw[0].score) == (target.id, "deadbeef", pytest.approx(1.0, abs=1e-3))
    assert (target.id, target.content_hash) in {(h.article_id, h.content_hash) for h in raw}  # not hidden by it
    result = svc.search(query, mode="semantic")
    first = result.hits[0]
    assert first.article.id == target.id and first.semantic_score < 0.999  # the live passage, not the planted one
    assert first.passage.text in {r["text"] for r in live_rows}  # the offsets name a passage the indexer stored
    assert result.total == 5 and len({h.article.id for h in result.hits}) == 5
    assert [a.id for a, _ in svc.similar(result.hits[1].article.id, limit=4)].count(target.id) == 1
    assert store.info().passages == 21
    store.optimize()  # a later job sweeps what the interrupted write left
    assert store.info().passages == 20 and store.semantic(vec, Filters(), 1)[0].score < 0.999


@pytest.mark.parametrize("where", [0, 3, 20, 39, 40, 41, 75, 98, 99])
def test_snippet_keeps_the_match_wherever_it_is(where: int) -> None:
    from archive.highlight import snippet
    from archive.query import parse

    words = [f"كلمة{i}" for i in range(100)]
    words[where] = "طاجيكستان"
    html_snippet, n = snippet(" ".join(words), parse("طاجيكستان"), words=40)
    assert n == 1 and "<mark>طاجيكستان</mark>" in html_snippet
    assert len(html_snippet.replace("…", "").split()) == 40  # always a full window
    if where >= 5:
        assert f"كلمة{where - 5}" in html_snippet  # context before the match


def test_snippet_window_holds_the_densest_matches() -> None:
    from archive.highlight import snippet
    from archive.query import parse

    words = [f"كلمة{i}" for i in range(200)]
    words[10] = words[150] = words[160] = words[185] = "روسيا"
    html_snippet, n = snippet(" ".join(words), parse("روسيا"), words=40)
    assert n == 4 and html_snippet.count("<mark>") == 3 and "كلمة10 " not in html_snippet


def test_a_capped_depth_keeps_the_total_and_says_which_pages_can_be_reached(
    service: SearchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archive.search as search  # noqa: PLC0415

    ranked = [h.article.id for h in service.search("روسيا", mode="keyword").hits]
    full = service.search("روسيا", mode="keyword", page=2, page_size=2)
    assert len(ranked) > 3 and not any("paged through" in w for w in full.warnings)
    monkeypatch.setattr(search, "MAX_DEPTH", 3)  # the cap a cluster's 10,000 stands for
    capped = service.search("روسيا", mode="keyword", page=2, page_size=2)
    assert (capped.total, capped.total_exact) == (full.total, True)  # still counted, not fetched
    assert [h.article.id for h in capped.hits] == ranked[2:3]
    assert any("only the first 3 ranked matches can be paged through" in w for w in capped.warnings)


def test_snippet_of_a_900k_character_article_takes_linear_time() -> None:
    """One repeated word over 900,000 characters (under the 1 M article limit): the window count
    per window made this take minutes; an alarm stops the old behaviour at 30 s."""
    import signal

    from archive.highlight import snippet
    from archive.query import parse

    def too_slow(*_: object) -> None:
        raise TimeoutError("snippet() still running after 30 s")

    text = ("روسيا " * 150_000)[:900_000]
    old = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(30)
    try:
        t0 = time.perf_counter()
        html_snippet, n = snippet(text, parse("روسيا"))
        took = time.perf_counter() - t0
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert took < 3, took
    assert html_snippet.count("<mark>") == 40 and n > 0
    record_reliability(
        "huge article highlighting",
        "the snippet of a 900,000-character article of one repeated word",
        f"{took:.2f} s (before: 1.7 s for its first 90,000 characters, 8.0 s for 180,000, minutes for all)",
    )


def test_queries_are_never_compared_with_vectors_of_another_model(seed_store_dir: Path) -> None:
    """An index embedded with one model searched with another (of the same dimension) would rank
    by meaningless similarities: the semantic channel is off, and the warning says why and how."""
    import numpy as np

    class Other(Embedder):
        def __init__(self) -> None:  # no model to load: a stand-in with another name, the same dimension
            self.name, self.dim, self.calls = "another/model", 384, 0

        def queries(self, texts: Sequence[str]) -> np.ndarray:
            self.calls += len(texts)
            return np.full((len(texts), 384), 384**-0.5, dtype=np.float32)

    other = Other()
    svc = SearchService(open_store(seed_store_dir, read_only=True), other)
    hybrid = svc.search("الجيش السوري", mode="hybrid")
    assert hybrid.hits and all(h.semantic_rank is None for h in hybrid.hits) and other.calls == 0
    assert any(f"embedded with '{DEFAULT_MODEL}'" in w and "another/model" in w for w in hybrid.warnings)
    semantic = svc.search("الجيش السوري", mode="semantic")
    assert semantic.total == 0 and any("semantic channel is off" in w for w in semantic.warnings)
    assert svc.search("الجيش السوري", mode="keyword").warnings == []  # keyword search needs no model
