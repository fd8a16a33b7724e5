"""Result sets a researcher can count: exact totals past the fetch depth, stable across pages,
on both backends (issue: trustworthy result sets)."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.embeddings import Embedder
from archive.marks import to_plain
from archive.model import Article
from archive.search import SearchService
from archive.store.base import Filters, Tally

from .conftest import served

N = 150  # more than the fetch depth of a first page (100)
TOPICS = "الحكومة الاقتصاد النفط الانتخابات الجامعة الطاقة الميناء المطار".split()


def _archive(path: Path) -> Path:
    """``N`` generated articles: every title has خبر, every third body البرلمان (50 articles)."""
    rng = random.Random(11)
    lines = []
    for i in range(N):
        words = [rng.choice(TOPICS) for _ in range(50)] + (["البرلمان"] if i % 3 == 0 else [])
        lines.append(
            json.dumps(
                {
                    "id": f"a{i:03d}",
                    "title": f"خبر رقم {i}",
                    "body": " ".join(words),
                    "source": "مولد" if i % 2 else "آخر",
                    "published_at": f"2020-{1 + i % 12:02d}-{1 + i % 28:02d}",
                },
                ensure_ascii=False,
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module", params=["lancedb", "elasticsearch"])
def counted(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[SearchService]:
    """The generated archive on each backend, behind the search service."""
    yield from served(_archive(tmp_path_factory.mktemp("feed") / "news.jsonl"), request, tmp_path_factory, embedder, "count")


def test_keyword_totals_are_exact_past_the_fetch_depth_and_stable_across_pages(counted: SearchService) -> None:
    """Before: 150 matches read "100 results" on page 1 and grew as one paged on."""
    totals = {p: counted.search("خبر", mode="keyword", page=p, page_size=10).total for p in (1, 5, 15)}
    assert totals == {1: N, 5: N, 15: N}
    last = counted.search("خبر", mode="keyword", page=15, page_size=10)
    assert len(last.hits) == 10 and last.total_exact and last.keyword_total == N
    assert counted.search("خبر", mode="keyword", page=16, page_size=10).hits == []


def _generated(article_id: str) -> Article:
    """The metadata ``_archive`` gave an article (its source and date follow from its number)."""
    i = int(article_id[1:])
    return Article(article_id, "", "", dt.datetime(2020, 1 + i % 12, 1 + i % 28), "مولد" if i % 2 else "آخر")


@pytest.mark.parametrize(
    "text,mode",
    [
        ("خبر", "keyword"),
        ("خبر", "hybrid"),
        ("خبر -البرلمان", "hybrid"),
        ("-البرلمان", "hybrid"),
        ("source:مولد", "hybrid"),
        ("البرلمان", "keyword"),
    ],
)
def test_facets_and_days_count_the_whole_match_set(counted: SearchService, text: str, mode: str) -> None:
    """Before: the source and year facets counted the first fetched hits (100 of 150 matches),
    so they did not add up to the total. Now they are the tally of every match."""
    res = counted.search(text, mode=mode, page_size=5)  # type: ignore[arg-type]
    ids = [
        h.article.id
        for p in range(1, -(-res.total // 100) + 1)
        for h in counted.search(text, mode=mode, page_size=100, page=p).hits
    ]  # type: ignore[arg-type]
    assert len(ids) == len(set(ids)) == res.total and res.total_exact
    expected = Tally.of(_generated(i) for i in ids)
    assert res.tally == expected and res.years == {2020: res.total} and sum(res.sources.values()) == res.total
    _, overall, by_source = counted.timeline(res, "month", ["مولد", "آخر"])  # a source's part, counted the same way
    for name, buckets in by_source.items():
        months = Counter(
            a.published_at.date().replace(day=1) for a in map(_generated, ids) if a.source == name and a.published_at
        )
        assert {b.start: b.matches for b in buckets if b.matches} == months
    assert [sum(b[i].matches for b in by_source.values()) for i in range(len(overall))] == [b.matches for b in overall]


@pytest.mark.parametrize(
    "text,mode,sort",
    [
        ("خبر", "keyword", "relevance"),
        ("خبر", "hybrid", "relevance"),
        ("خبر", "keyword", "newest"),
        ("-البرلمان", "hybrid", "relevance"),
        ("from:2020-01-01", "keyword", "relevance"),
    ],
)
def test_export_holds_every_match_once_past_the_fetch_depth(counted: SearchService, text: str, mode: str, sort: str) -> None:
    """Before: exports stopped at the page's fetch depth (1,000 in the app). Now every match,
    the ranked ones first in the order shown, read in small batches."""
    res = counted.search(text, mode=mode, sort=sort, page_size=1)  # type: ignore[arg-type]
    hits = list(counted.export(res, batch=7))
    ids = [h.article.id for h in hits]
    assert len(ids) == len(set(ids)) == res.total and res.total >= 75
    assert ids[: len(res.order)] == list(res.order) and len(res.order) < res.total  # past the depth
    assert Tally.of(_generated(i) for i in ids) == res.tally  # the very set the facets count
    if sort == "newest" or not counted.parse(text).has_keyword_clauses:
        dates = [h.article.published_at for h in hits]
        assert dates == sorted(dates, reverse=True)  # newest first, in the ranked part and after it
    elif mode == "keyword":
        ranks = [h.keyword_rank for h in hits]
        assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)  # BM25 order all through
    if text.startswith("-"):
        assert all("البرلمان" not in h.article.body for h in hits)


def test_exclusions_and_filters_are_counted_exactly(counted: SearchService) -> None:
    assert counted.search("البرلمان", mode="keyword").total == 50
    assert counted.search("خبر -البرلمان", mode="keyword").total == N - 50
    assert counted.search("خبر source:مولد", mode="keyword").total == N // 2
    listing = counted.search("source:آخر")  # filters alone list what they select
    assert listing.total == N // 2 and listing.total_exact
    assert counted.search("", sources=["مولد"], page=8).total == N // 2
    # exclusions alone list what they leave, counted exactly past the listing's depth
    rest = counted.search("-البرلمان", page_size=100)
    assert rest.total == N - 50 and rest.total_exact and len(rest.hits) == 100
    assert all("البرلمان" not in h.article.body for h in rest.hits)
    assert counted.search("NOT البرلمان source:آخر").total == N // 2 - 25
    # the default operator: any word (ranked) or all of them
    assert counted.search("خبر البرلمان", mode="keyword").total == N
    assert counted.search("خبر البرلمان", mode="keyword", default="AND").total == 50
    assert counted.search("(خبر AND البرلمان) OR (البرلمان AND NOT خبر)", mode="keyword").total == 50


@pytest.mark.parametrize(
    "text", ["خبر", "البرلمان OR الطاقة", "خبر -البرلمان", '"خبر رقم"', "الطاق*", "(رقم AND البرلمان) OR النفط~1"]
)
def test_one_pass_ranking_is_the_keyword_ranking_and_the_tally(counted: SearchService, text: str) -> None:
    """``ranked`` (top hits and the exact tally from one pass, what a page of many matches
    needs) must agree with ``keyword`` and ``tally``: same scores in the same order, same counts,
    and the counts those of the articles themselves."""
    tree = counted.parse(text).tree
    for filters in (Filters(), Filters(sources=("مولد",)), Filters(date_from=dt.date(2020, 3, 1), date_to=dt.date(2020, 8, 31))):
        hits, tally = counted.store.ranked(tree, filters, 40)
        total = tally.total
        reference = counted.store.keyword(tree, filters, 40)
        assert tally == counted.store.tally(tree, filters) and total > 0
        every = counted.store.keyword(tree, filters, total + 1)
        assert len(every) == total and tally == Tally.of(_generated(h.article_id) for h in every)
        assert len(hits) == len(reference) == min(40, total)
        assert [h.score for h in hits] == pytest.approx([h.score for h in reference], rel=1e-5)
        scores = {h.article_id: h.score for h in counted.store.keyword(tree, filters, total)}
        assert all(scores[h.article_id] == pytest.approx(h.score, rel=1e-5) for h in hits)  # each hit its own score


# --------------------------------------------------------------------------- the relevance floor
OFF_TOPIC = ["المنتخب", "football world cup final", "وصفة كعكة الشوكولاتة", "chocolate cake recipe", "أسعار الذهب"]


@pytest.fixture(params=["lancedb", "elasticsearch"])
def seeds(request: pytest.FixtureRequest, service: SearchService, embedder: Embedder) -> SearchService:
    """The seed archive behind the service, on each backend."""
    if request.param == "lancedb":
        return service
    return SearchService(request.getfixturevalue("es_seed_store"), embedder)


@pytest.mark.parametrize("query", OFF_TOPIC)
def test_off_topic_queries_find_nothing_in_any_mode(seeds: SearchService, query: str) -> None:
    """Before: every hybrid or semantic query returned the whole archive as "semantic matches"."""
    for mode in ("hybrid", "semantic", "keyword"):
        res = seeds.search(query, mode=mode)
        assert (res.total, res.hits, res.sources) == (0, [], {}), (query, mode)


def test_weaker_matches_are_listed_only_on_request_and_never_counted(seeds: SearchService) -> None:
    res = seeds.search("football world cup final", mode="semantic", weaker=True)
    assert res.total == 0 and res.weaker == 5 and len(res.hits) == 5
    assert all(h.weak and h.match == "semantic" for h in res.hits)
    aleppo = seeds.search("حلب", mode="hybrid", weaker=True)
    matches = [h for h in aleppo.hits if not h.weak]
    assert aleppo.total == len(matches) == 4 and aleppo.hits[: len(matches)] == matches  # matches first


def test_newest_first_and_exports_hold_only_matches(seeds: SearchService) -> None:
    """Before: "Newest" in hybrid mode listed the whole archive by date."""
    newest = seeds.search("حلب", mode="hybrid", sort="newest", page_size=1000)
    relevant = seeds.search("حلب", mode="hybrid", page_size=1000)
    assert {h.article.id for h in newest.hits} == {h.article.id for h in relevant.hits}
    assert newest.total == len(newest.hits) == 4 and sum(newest.sources.values()) == 4
    dates = [h.article.published_at for h in newest.hits if h.article.published_at]
    assert dates == sorted(dates, reverse=True)


def test_the_semantic_snippet_is_the_best_passage(seeds: SearchService) -> None:
    """Before: semantic mode showed the keyword snippet from the start of the article."""
    res = seeds.search("الغارات الروسية على حلب", mode="semantic")
    assert res.hits and any(h.passage and h.passage.start > 0 for h in res.hits)
    for h in res.hits:
        assert h.passage is not None and "<mark>" in h.snippet_html, h.article.id  # query words marked
        shown = to_plain(h.snippet_html).strip("… ")
        assert shown in " ".join(h.passage.text.split()), h.article.id
