"""What the archive answers, as JSON-ready data: one shape for ``search --json``, the HTTP API
and the warm command line, which renders a server's answer with the same code as its own.

``Asked`` is a search request as every front end can state it (flags, URL parameters); ``answer``
runs it on a ``SearchService`` with the research views asked for (timeline, top terms, exact
story counts), so the CLI and the API cannot drift apart in what they compute.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from archive.config import ConfigError
from archive.timeline import INTERVALS, Bucket

if TYPE_CHECKING:
    from archive.model import Article
    from archive.search import Hit, SearchResult, SearchService
    from archive.store.base import Reader

MAX_QUERY_CHARS = 2000  # a long boolean query fits; a pasted article does not belong in the query box
MAX_LIMIT = 1000  # results per page (the service's page size cap)
MAX_TERMS = 200
TIMELINE_SOURCES = 5  # --by-source: a series for each of the largest sources


@dataclass(frozen=True)
class Asked:
    """One search request: the query and everything a result set depends on, the page, and the
    research views to compute beside it."""

    query: str
    mode: str = "hybrid"
    weight: float = 0.5  # semantic weight in hybrid mode
    sources: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: str = "relevance"
    all_words: bool = False  # juxtaposed words all required (the default operator AND)
    group: bool = False  # one result per near-duplicate story
    page: int = 1
    limit: int = 10
    weaker: bool = False  # list the semantic hits below the relevance floor after the matches
    timeline: str | None = None  # "auto" or an interval: attention over time beside the results
    by_source: bool = False
    stories: bool = False  # the timeline counts stories, not articles
    terms: int | None = None  # the result set's N most significant terms

    def check(self) -> Asked:
        """Itself, or a ``ConfigError`` naming the first parameter out of range (every front end
        refuses the same requests with the same words)."""
        from archive.search import MODES

        if len(self.query) > MAX_QUERY_CHARS:
            raise ConfigError(f"query: {len(self.query):,} characters, at most {MAX_QUERY_CHARS:,}")
        if self.mode not in MODES:
            raise ConfigError(f"mode: {self.mode!r} is not one of {', '.join(MODES)}")
        if self.sort not in ("relevance", "newest"):
            raise ConfigError(f"sort: {self.sort!r} is not relevance or newest")
        if not 0.0 <= self.weight <= 1.0:
            raise ConfigError(f"weight: {self.weight} is not between 0 and 1")
        if self.page < 1:
            raise ConfigError(f"page: {self.page} (pages start at 1)")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ConfigError(f"limit: {self.limit} is not between 1 and {MAX_LIMIT}")
        if self.timeline is not None and self.timeline not in ("auto", *INTERVALS):
            raise ConfigError(f"timeline: {self.timeline!r} is not one of auto, {', '.join(INTERVALS)}")
        if (self.by_source or self.stories) and self.timeline is None:
            raise ConfigError("by_source and stories describe a timeline: ask for one (timeline=auto)")
        if self.terms is not None and not 1 <= self.terms <= MAX_TERMS:
            raise ConfigError(f"terms: {self.terms} is not between 1 and {MAX_TERMS}")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ConfigError(f"from {self.date_from} is after to {self.date_to}")
        return self

    def params(self) -> list[tuple[str, str]]:
        """The request as URL query parameters of ``/v1/search`` (defaults left out)."""
        out: list[tuple[str, str]] = [("q", self.query)]
        defaults = Asked("")
        for name, value in asdict(self).items():
            if name == "query" or value == getattr(defaults, name):
                continue
            key = {"date_from": "from", "date_to": "to", "sources": "source"}.get(name, name)
            values = value if isinstance(value, tuple) else (value,)
            out += [(key, str(v).lower() if isinstance(v, bool) else str(v)) for v in values]
        return out


def run(svc: SearchService, asked: Asked) -> SearchResult:
    """The result set and page asked for (the views are ``answer``'s)."""
    asked.check()
    return svc.search(
        asked.query,
        mode=asked.mode,  # type: ignore[arg-type]  # checked above
        semantic_weight=asked.weight,
        sources=asked.sources,
        date_from=asked.date_from,
        date_to=asked.date_to,
        sort=asked.sort,  # type: ignore[arg-type]
        default="AND" if asked.all_words else "OR",
        group=asked.group,
        page=asked.page,
        page_size=asked.limit,
        weaker=asked.weaker,
    )


def answer(svc: SearchService, asked: Asked) -> dict[str, Any]:
    """The search's page with the views asked for, as ``search --json`` prints it."""
    res = run(svc, asked)
    series = _timeline(svc, res, asked) if asked.timeline else None
    if asked.group and not res.stories_exact:  # the ranked part was grouped: count every match's story
        stories = series["counted"] if series and series["unit"] == "stories" else len(svc.story_firsts(res)[None])
        res.stories, res.stories_exact = stories, True
    out = result_json(res)
    if series:
        out["timeline"] = series
    if asked.terms:
        out["top_terms"] = svc.top_terms(res, asked.terms).as_dict()
    return out


def _timeline(svc: SearchService, res: SearchResult, asked: Asked) -> dict[str, Any]:
    """Every match's series over time and, with ``by_source``, one per large source."""
    sources = list(res.sources)[:TIMELINE_SOURCES] if asked.by_source else []
    firsts = svc.story_firsts(res, sources) if asked.stories else None
    interval, overall, by_source = svc.timeline(
        res,
        asked.timeline,  # type: ignore[arg-type]  # checked
        sources,
        stories=asked.stories,
        firsts=firsts,
    )
    counted = len(firsts[None]) if firsts is not None else res.total  # undated: stories no bucket holds
    return {
        "interval": interval,
        "unit": "stories" if asked.stories else "articles",
        "counted": counted,
        "undated": counted - sum(b.matches for b in overall),
        "buckets": bucket_rows(overall),
        "by_source": {s: bucket_rows(b) for s, b in by_source.items()},
    }


def bucket_rows(buckets: list[Bucket]) -> list[dict[str, Any]]:
    return [
        {
            "start": b.start.isoformat(),
            "end": b.end.isoformat(),
            "matches": b.matches,
            "articles": b.articles,
            "share": round(b.share, 6),
        }
        for b in buckets
    ]


def buckets_of(rows: list[dict[str, Any]]) -> list[Bucket]:
    """``bucket_rows`` read back (a timeline that came as JSON, written as CSV)."""
    return [
        Bucket(dt.date.fromisoformat(r["start"]), dt.date.fromisoformat(r["end"]), int(r["matches"]), int(r["articles"]))
        for r in rows
    ]


def result_json(res: SearchResult) -> dict[str, Any]:
    from archive.marks import to_plain

    return {
        "query": res.query.raw,
        "mode": res.mode,
        "total": res.total,
        "total_exact": res.total_exact,
        "total_text": res.total_text,  # as a reader should see it: "1,234" or "more than 1,234"
        "keyword_total": res.keyword_total,
        "semantic_total": res.semantic_total,
        "weaker": res.weaker,
        "page": res.page,
        "page_size": res.page_size,
        "ranked": len(res.order),
        "stories": res.stories or None,
        "stories_exact": res.stories_exact if res.stories else None,
        "took_ms": res.took_ms,
        "warnings": res.warnings,
        "sources": res.sources,
        "weights": {"keyword": res.weights[0], "semantic": res.weights[1]},
        "years": {str(k): v for k, v in res.years.items()},
        "hits": [hit_json(h) | {"snippet": to_plain(h.snippet_html)} for h in res.hits],
    }


def hit_json(h: Hit) -> dict[str, Any]:
    return {
        **article_meta(h.article),
        "match": h.match,
        "fused_score": h.fused_score,
        "keyword_rank": h.keyword_rank,
        "keyword_score": h.keyword_score,
        "semantic_rank": h.semantic_rank,
        "semantic_score": h.semantic_score,
        "best_passage": {"n": h.passage.n, "start": h.passage.start, "end": h.passage.end} if h.passage else None,
        "title_html": h.title_html,
        "snippet_html": h.snippet_html,
        "weak": h.weak,
        "versions": [article_meta(v) for v in h.versions],
    }


def article_meta(a: Article) -> dict[str, Any]:
    """An article's identity and metadata (no text)."""
    return {
        "id": a.id,
        "title": a.title,
        "source": a.source,
        "published_at": a.published_at.isoformat() if a.published_at else None,
        "url": a.url,
        "path": a.path,
        "story": a.story_id,
    }


def article_json(svc: SearchService, article_id: str, query: str = "") -> dict[str, Any] | None:
    """One article in full, the query's matches marked in its title and body; None if unknown."""
    found = svc.article(article_id, query)
    if found is None:
        return None
    a, title_html, body_html = found
    return {**article_meta(a), "body": a.body, "content_hash": a.content_hash, "title_html": title_html, "body_html": body_html}


def similar_json(svc: SearchService, article_id: str, limit: int) -> list[dict[str, Any]]:
    return [{**article_meta(a), "score": score} for a, score in svc.similar(article_id, limit)]


def status_json(store: Reader) -> dict[str, Any]:
    """What the index holds, as ``status --json`` prints it."""
    info = store.info()
    last = store.jobs(1)
    return {
        **info.__dict__,
        "generations": [
            {"name": g.name, "articles": g.articles, "active": g.active, "complete": g.complete} for g in store.generations()
        ],
        "last_job": last[0] if last else None,
    }
