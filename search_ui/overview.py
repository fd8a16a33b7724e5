"""The archive at a glance, for the landing page and the date filter's range: article count,
the oldest and newest publication dates, sources, the latest articles, and example queries
taken from this archive's own headlines (each checked to find something here).
Read-only, like the rest of the app; no Streamlit here, so it is tested directly."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from archive.model import Article
from archive.search import SearchService
from archive.store.base import Filters

LATEST = 5
EXAMPLES = 4
HEADLINES = 50  # recent headlines the examples are drawn from


@dataclass(frozen=True)
class Overview:
    articles: int
    sources: dict[str, int]
    oldest: dt.date | None  # publication dates: None when no article is dated
    newest: dt.date | None
    latest: list[Article] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    def date_range(self, today: dt.date) -> tuple[dt.date, dt.date]:
        """What the date filter offers: from January 1st of the oldest article's year (a date
        typed a little before the first article is no error) to today (never the future)."""
        first = self.oldest or today
        return (min(dt.date(first.year, 1, 1), today), today)


def _oldest(svc: SearchService, years: dict[int, int]) -> dt.date | None:
    """The oldest publication date: the last of the first year's articles, newest first."""
    if not years:
        return None
    first = min(years)
    ids = svc.store.browse(Filters(date_to=dt.date(first, 12, 31)), years[first])
    found = svc.store.get(ids[-1:], text=False) if ids else {}
    dates = [a.published_at for a in found.values() if a.published_at]
    return dates[0].date() if dates else dt.date(first, 1, 1)


def _headline_words(svc: SearchService, title: str) -> list[str]:
    """A headline's words as written, stop words and one- or two-letter words left out."""
    return [title[t.start : t.end] for t in svc.analyzer.analyze(title) if t.stem and len(t.exact) > 2]


def _examples(svc: SearchService, recent: list[Article], sources: dict[str, int]) -> list[str]:
    """Queries that find something in this archive: the first two words of recent headlines,
    each on a word no earlier example uses (checked by a keyword search), and the largest
    source as a ``source:`` filter."""
    out: list[str] = []
    used: set[str] = set()
    for a in recent:
        words = _headline_words(svc, a.title)[:2]
        if len(words) < 2 or used & set(words) or not svc.search(" ".join(words), mode="keyword", page_size=1).total:
            continue
        out.append(" ".join(words))
        used.update(words)
        if len(out) == EXAMPLES - 1:
            break
    for name in (s for s in sources if s):  # largest first; one the query syntax can spell
        q = f'source:"{name}"' if " " in name else f"source:{name}"
        if svc.search(q, mode="keyword", page_size=1).total:
            out.append(q)
            break
    return out


def overview(svc: SearchService) -> Overview:
    info = svc.store.info()
    ids = svc.store.browse(Filters(), HEADLINES)
    found = svc.store.get(ids)
    recent = [found[i] for i in ids if i in found]
    dated = [a.published_at for a in recent if a.published_at]
    return Overview(
        info.articles,
        info.sources,
        _oldest(svc, info.years),
        max(dated).date() if dated else None,
        recent[:LATEST],
        _examples(svc, recent, info.sources),
    )
