"""The app's whole view state and its round trip through the URL (``st.query_params``), so any
view — a query with its filters, a page of results, an open article, the status page — is a
permalink. Pure functions: no Streamlit here, so the rules are tested directly."""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar
from urllib.parse import urlencode

from archive.model import MODES
from archive.query import MAX_QUERY_CHARS

T = TypeVar("T")
SORTS = ("relevance", "newest")
VIEWS = ("search", "article", "status")
PAGE_SIZE = 10
MAX_PAGE = 1000


@dataclass(frozen=True)
class ViewState:
    q: str = ""
    mode: str = "hybrid"
    weight: float = 0.5
    sources: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: str = "relevance"
    page: int = 1
    article: str = ""
    view: str = "search"
    weaker: bool = False  # list the semantic hits below the relevance floor after the matches
    all_words: bool = False  # juxtaposed words are all required (the query's default operator AND)
    group: bool = True  # one result per story: a republished wire story with its versions beside it
    notes: tuple[str, ...] = field(default=(), compare=False)  # what was wrong in the URL

    @staticmethod
    def from_params(params: Mapping[str, str | list[str]]) -> ViewState:
        """Read a URL's parameters; anything malformed falls back to its default with a note."""
        notes: list[str] = []

        def one(key: str) -> str:
            v = params.get(key, "")
            return (v[-1] if v else "") if isinstance(v, list) else str(v)

        def many(key: str) -> tuple[str, ...]:
            v = params.get(key, [])
            items = v if isinstance(v, list) else [v]
            return tuple(dict.fromkeys(s for s in (str(x).strip() for x in items) if s))

        def parsed(key: str, convert: Callable[[str], T], default: T, what: str) -> T:
            """``convert`` the parameter; on ValueError keep ``default`` and say so."""
            raw = one(key)
            if not raw:
                return default
            try:
                return convert(raw)
            except ValueError:
                notes.append(f"{key} {raw!r} {what}: using {default}")
                return default

        def choice(allowed: Sequence[str]) -> Callable[[str], str]:
            def check(value: str) -> str:
                if value not in allowed:
                    raise ValueError(value)
                return value

            return check

        s = ViewState()
        q = one("q")[:MAX_QUERY_CHARS]
        mode = parsed("mode", choice(MODES), s.mode, "is not a mode")
        weight = parsed("w", lambda v: min(1.0, max(0.0, float(v))), s.weight, "is not a number")
        sort = parsed("sort", choice(SORTS), s.sort, "is not a sort order")
        page = parsed("page", lambda v: min(MAX_PAGE, max(1, int(v))), s.page, "is not a number")
        dates = [parsed(key, dt.date.fromisoformat, None, "is not a YYYY-MM-DD date") for key in ("from", "to")]
        article = one("article")
        view = one("view") or ("article" if article else "search")
        if view not in VIEWS or (view == "article" and not article):
            notes.append(f"unknown view {view!r}: showing the search")
            view = "search"
        weaker = one("weaker") in ("1", "true", "yes")
        all_words = one("op").upper() == "AND"
        group = one("group") not in ("0", "false", "no")
        return ViewState(
            q, mode, weight, many("source"), dates[0], dates[1], sort, page, article, view, weaker, all_words, group, tuple(notes)
        )

    def to_params(self) -> dict[str, str | list[str]]:
        """Only what differs from the defaults, so links stay short."""
        out: dict[str, str | list[str]] = {}
        d = ViewState()
        if self.q:
            out["q"] = self.q
        if self.mode != d.mode:
            out["mode"] = self.mode
        if self.weight != d.weight:
            out["w"] = f"{self.weight:g}"
        if self.sources:
            out["source"] = list(self.sources)
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        if self.sort != d.sort:
            out["sort"] = self.sort
        if self.page != 1:
            out["page"] = str(self.page)
        if self.weaker:
            out["weaker"] = "1"
        if self.all_words:
            out["op"] = "AND"
        if not self.group:
            out["group"] = "0"
        if self.view == "article" and self.article:
            out["article"] = self.article
        elif self.view == "status":
            out["view"] = "status"
        return out

    def href(self, **changes: object) -> str:
        """A relative link to this state with ``changes`` (for ``<a href>`` in results)."""
        return "?" + urlencode(replace(self, **changes).to_params(), doseq=True)  # type: ignore[arg-type]

    def export_command(self, out: str) -> str:
        """The command line that exports this view's result set (every match, streamed to
        ``out``): what the app offers when a set is too large to build in its memory."""
        parts = ["python -m indexer export", shlex.quote(self.q), "--mode", self.mode]
        if self.mode == "hybrid" and self.weight != 0.5:
            parts += ["--weight", f"{self.weight:g}"]
        for source in self.sources:
            parts += ["--source", shlex.quote(source)]
        if self.date_from:
            parts += ["--from", self.date_from.isoformat()]
        if self.date_to:
            parts += ["--to", self.date_to.isoformat()]
        if self.sort != "relevance":
            parts += ["--sort", self.sort]
        if self.all_words:
            parts.append("--and")
        return " ".join([*parts, "--out", shlex.quote(out)])

    def search_key(self) -> tuple:
        """What a result set depends on (a change sends the user back to page 1)."""
        return (
            self.q,
            self.mode,
            self.weight if self.mode == "hybrid" else None,
            self.sources,
            self.date_from,
            self.date_to,
            self.sort,
            self.weaker,
            self.all_words,
            self.group,
        )


def bucket_dates(selected: list[dict]) -> tuple[dt.date, dt.date] | None:
    """The (first, last) day of a clicked bar; Vega-Lite gives temporal values as epoch ms."""
    if not selected:
        return None

    def day(value: object) -> dt.date:
        if isinstance(value, (int, float)):
            return dt.datetime.fromtimestamp(value / 1000, dt.UTC).date()
        return dt.date.fromisoformat(str(value)[:10])

    return day(selected[0]["start"]), day(selected[0]["end"])


_OPERATORS = {"AND", "OR", "NOT"}


def refined(q: str, term: str) -> str:
    """The query narrowed to the articles that also hold ``term`` (a top term clicked): it is
    added as required, quoted when it would read as an operator or hold query syntax."""
    plain = term.isalnum() and term not in _OPERATORS
    added = f"+{term}" if plain else '+"' + term.replace('"', " ") + '"'
    narrower = f"{q.strip()} {added}".strip()
    return narrower if len(narrower) <= MAX_QUERY_CHARS else q  # never a cut term: a different query
