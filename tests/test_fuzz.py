"""Generated queries, dates and pages through the parser and the search service on both
backends: never an exception, never a backend query-syntax error, bounded time. CI runs
$ARCHIVE_FUZZ_QUERIES (default 600) queries; the long run is ``ARCHIVE_FUZZ_QUERIES=10000 pytest tests/test_fuzz.py``."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.embeddings import Embedder
from archive.query import MAX_CLAUSES, MAX_QUERY_CHARS, leaves, parse
from archive.search import SearchService
from archive.store.elastic import ElasticStore

from .conftest import record_reliability, run_cli

N = int(os.environ.get("ARCHIVE_FUZZ_QUERIES", "600"))
PIECES = [
    "روسيا",
    "الجيش",
    "السوري",
    "قاعدة",
    "همدان",
    "حلب",
    "ـــ",
    "ً",
    "ّ",
    "ٱ",
    "إ",
    "ى",
    "ة",
    "٢٠١٥",
    "Russia",
    '"',
    "«",
    "»",
    "-",
    "+",
    "*",
    "|",
    " OR ",
    " AND ",
    "(",
    ")",
    ":",
    "source:",
    "from:",
    "to:",
    "2015-12-01",
    "2015-13-45",
    "9999-12-31",
    "0001-01-01",
    "to:9999-12-31",
    "from:0001-01-01",
    "\\",
    "/",
    "[",
    "]",
    "{",
    "}",
    "~",
    "~2",
    "~1",
    " NOT ",
    "title:",
    "^",
    "!",
    "?",
    "'",
    "&&",
    "||",
    "\u202e",
    "\u200f",
    "\u200b",
    "\x00",
    "\n",
    "\t",
    "%",
    "$",
    "<script>",
    "*:*",
    "_all",
    "null",
    " ",
    "  ",
]
queries = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=40).map("".join),
    st.text(max_size=200),
    st.text(alphabet=st.sampled_from(list('روسياالجيشحلب "-+*|():«»~&')), min_size=900, max_size=3000),
)
dates = st.one_of(st.none(), st.dates(), st.sampled_from([dt.date.min, dt.date.max]))
pages = st.one_of(st.just(1), st.integers(-5, 10**12))
seen = {"n": 0, "slowest": 0.0, "errors": 0}


@settings(max_examples=N, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(text=queries, semantic=st.integers(0, 24), date_from=dates, date_to=dates, page=pages)
def _fuzz(
    text: str,
    semantic: int,
    date_from: dt.date | None,
    date_to: dt.date | None,
    page: int,
    lance: SearchService,
    es: SearchService,
) -> None:
    parsed = parse(text)
    assert len(parsed.semantic_text) <= MAX_QUERY_CHARS
    assert len(list(leaves(parsed.tree, positive=False))) <= MAX_CLAUSES
    if len(text) > MAX_QUERY_CHARS:
        assert parsed.warnings  # the user is told the query was cut
    mode = "hybrid" if semantic == 0 else "keyword"  # 1 in 25 also embeds (the encoder is the slow part)
    for svc in (lance, es):
        t0 = time.perf_counter()
        res = svc.search(text, mode=mode, page_size=5, date_from=date_from, date_to=date_to, page=page)
        took = time.perf_counter() - t0
        assert took < 10, (text, took)
        assert res.total >= len(res.hits)
        seen["slowest"] = max(seen["slowest"], took)
    seen["n"] += 1


def test_fuzzed_queries_never_fail_on_either_backend(
    service: SearchService, es_seed_store: ElasticStore, embedder: Embedder
) -> None:
    es = SearchService(es_seed_store, embedder)
    t0 = time.perf_counter()
    _fuzz(lance=service, es=es)  # any exception, including an ES 400, fails here
    assert seen["n"] >= N
    record_reliability(
        "query fuzzing",
        f"{seen['n']} generated queries (operators, quotes, control and bidi characters, "
        "3,000-character queries, dates from 0001-01-01 to 9999-12-31, pages up to 10^12) "
        "× 2 backends, 1 in 25 hybrid",
        f"0 exceptions, 0 backend syntax errors, slowest {seen['slowest'] * 1000:.0f} ms, total {time.perf_counter() - t0:.0f} s",
    )


@pytest.mark.parametrize("backend", ["lancedb", "elasticsearch"])
def test_extreme_dates_and_pages_answer_from_the_cli(backend: str, seed_store_dir: Path, es_seed_store: ElasticStore) -> None:
    """The last day of the calendar overflowed ``to:``'s day-after bound, and a page of 10^9
    LanceDB's limit: tracebacks on both backends."""
    where = (
        ["--backend", "elasticsearch", "--es-url", es_seed_store.settings.url, "--es-index", es_seed_store.alias]
        if backend == "elasticsearch"
        else ["--backend", "lancedb"]
    )

    def search(*args: str) -> dict:
        res = run_cli("search", *args, "--mode", "keyword", "--json", *where, data_dir=seed_store_dir)
        assert res.returncode == 0 and "Traceback" not in res.stderr, (args, res.stderr)
        return json.loads(res.stdout)

    every, dated = search("روسيا")["total"], search("روسيا to:2100-01-01")["total"]
    assert every > dated > 0  # a date filter keeps dated articles only
    assert search("روسيا to:9999-12-31")["total"] == dated
    assert search("روسيا", "--from", "0001-01-01", "--to", "9999-12-31")["total"] == dated
    assert search("روسيا from:9999-12-31")["total"] == 0
    assert search("to:9999-12-31")["total"] == search("to:2100-01-01")["total"] > 0  # a filter alone lists
    far = search("روسيا", "--page", "1000000000")
    assert far["total"] == every and far["hits"] == []
    record_reliability(
        f"extreme dates and pages ({backend})",
        "CLI search with to:/from: 9999-12-31, --from 0001-01-01, --page 1000000000",
        f"exit 0 each, no traceback; {dated} dated hits up to the last day, 0 from it, an empty far page",
    )
