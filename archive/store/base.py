"""The store protocol: what the indexer and the search service need from any backend.

Backends store the terms produced by ``archive.analysis`` (never their own analysis), so
rankings are the same on every backend, and they return ids + scores only: fetching originals,
fusion and highlighting happen once, in ``archive.search``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from archive.model import Article, Passage
from archive.query import Node, ParsedQuery

SCHEMA_VERSION = "3"  # 2: title stems indexed with positions (title:"phrase"); 3: stories (near-duplicates)
TITLE_BOOST = 2.0  # a query term in the title counts twice (both backends)
PREFIX_EXPANSIONS = 50  # prefix* matches at most this many distinct terms (both backends)


class StoreError(RuntimeError):
    """A backend failure with a message fit for the user (no traceback needed)."""


class StoreEmpty(StoreError):
    """Nothing has been indexed at this location yet."""


class IndexMismatch(StoreError):
    """The index was built with another model, dimension or analysis version."""


class StoreLocked(StoreError):
    """Another job holds this index's write lock."""


class PartialWrite(StoreError):
    """Some articles of a batch were not written; the rest were. ``failed``: article id -> reason."""

    def __init__(self, failed: dict[str, str]) -> None:
        self.failed = failed
        sample = "; ".join(f"{k}: {v}" for k, v in list(failed.items())[:3])
        super().__init__(f"{len(failed)} article(s) not written ({sample})")


@dataclass(frozen=True)
class Filters:
    sources: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    ids: tuple[str, ...] = ()  # restrict to these articles (used to test candidates)

    @staticmethod
    def of(
        query: ParsedQuery, sources: Sequence[str] = (), date_from: dt.date | None = None, date_to: dt.date | None = None
    ) -> Filters:
        """Filters from the query's own source:/from:/to: plus the UI's (query wins on dates)."""
        return Filters(
            tuple(dict.fromkeys([*query.sources, *sources])),
            query.date_from or date_from,
            query.date_to or date_to,
        )


def day_after(day: dt.date) -> dt.date:
    """The exclusive upper bound of a ``to:`` day (both backends compare ``published_at <`` it).
    The calendar's last day has none (``to:9999-12-31`` overflowed): it stands in for itself,
    exactly, since ingest refuses articles dated in the future."""
    return day + dt.timedelta(days=1) if day < dt.date.max else day


STEM_MARK = "\x1f"  # vocabulary entries for stems: no analyzed term contains a control character


@dataclass(frozen=True)
class IndexedArticle:
    """An article ready to store: analyzed terms, passages and one vector per passage."""

    article: Article
    stem: str
    exact: str
    title_stem: str
    passages: tuple[Passage, ...]
    vectors: np.ndarray
    signature: np.ndarray | None = None  # MinHash of the body's shingles (archive.stories); None: too short
    story: str = ""  # the story it belongs to (archive.stories.assign); '': its own

    def vocabulary(self) -> set[str]:
        """The vocabulary entries this article adds: its exact terms (prefix* expands over them)
        and its stems marked with ``STEM_MARK`` (hybrid search asks which query words the index
        has); the mark keeps stems out of every prefix range."""
        return set(self.exact.split()) | {STEM_MARK + s for s in self.stem.split()}


@dataclass(frozen=True)
class Fingerprint:
    """What a store keeps of an article to group near-duplicates, read back for candidates."""

    article_id: str
    story: str
    signature: np.ndarray  # uint32 MinHash values


@dataclass(frozen=True)
class KeywordHit:
    article_id: str
    score: float


@dataclass(frozen=True)
class Tally:
    """How many articles a query matches, per source and per publication day: the exact counts
    behind the total, the facets and the timeline, read in the pass that ranks the matches (a
    facet of the fetched hits alone describes the first few hundred, not the set)."""

    total: int = 0
    sources: dict[str, int] = field(default_factory=dict)
    days: dict[dt.date, int] = field(default_factory=dict)  # undated articles count in ``total`` only

    @staticmethod
    def of(articles: Iterable[Article]) -> Tally:
        """The tally of articles at hand."""
        items = list(articles)
        return Tally(
            len(items),
            dict(Counter(a.source for a in items)),
            dict(Counter(a.published_at.date() for a in items if a.published_at)),
        )

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.total + other.total,
            dict(Counter(self.sources) + Counter(other.sources)),
            dict(Counter(self.days) + Counter(other.days)),
        )

    def __sub__(self, other: Tally) -> Tally:
        """What is left of this set without ``other``, a subset of it (a listing less its exclusions)."""
        return Tally(
            self.total - other.total,
            dict(Counter(self.sources) - Counter(other.sources)),
            dict(Counter(self.days) - Counter(other.days)),
        )

    @property
    def years(self) -> dict[int, int]:
        out: Counter[int] = Counter()
        for day, n in self.days.items():
            out[day.year] += n
        return dict(sorted(out.items()))


@dataclass(frozen=True)
class Background:
    """How many articles hold each of some stems, counted over ``counted`` of the archive's
    ``articles``: all of them where the backend can count (``exact``), else a uniform sample."""

    counts: dict[str, int]
    counted: int
    articles: int

    @property
    def exact(self) -> bool:
        return self.counted >= self.articles


@dataclass(frozen=True)
class SemanticHit:
    """The best passage of one version of an article. The hit names the version
    (``content_hash``) and the passage by offsets, not text: the search service keeps hits of the
    live version only, checked against the metadata it reads anyway, and slices the text of the
    page's passages from the bodies it reads anyway (no passage text crosses the store twice)."""

    article_id: str
    score: float  # cosine similarity of the best passage
    content_hash: str
    n: int
    start: int  # offsets into Article.body
    end: int


SWITCHED = "switched_at"  # meta key: when readers were first switched to a generation (it was complete)


def switched_meta() -> dict[str, str]:
    """The meta entry a store records on a generation as it first becomes active."""
    return {SWITCHED: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


@dataclass(frozen=True)
class Generation:
    """One generation of the index (a full rebuild makes a new one; readers see the active one)."""

    name: str
    number: int
    active: bool
    articles: int
    meta: dict

    @property
    def complete(self) -> bool:
        """Whether readers were ever switched to it: only a finished build is switched to, so a
        rebuild killed half-way, or one refused because it would lose articles, never is."""
        return self.active or SWITCHED in self.meta


@dataclass
class StoreInfo:
    backend: str
    location: str
    articles: int
    passages: int
    model: str | None
    dim: int | None
    analysis_version: str | None
    schema_version: str | None
    sources: dict[str, int] = field(default_factory=dict)
    years: dict[int, int] = field(default_factory=dict)


@runtime_checkable
class ServerFusion(Protocol):
    """An optional ability: a backend that fuses both channels itself (Elasticsearch's ``rrf``
    retriever) when ``server_rrf`` is on."""

    server_rrf: bool

    def hybrid(self, tree: Node | None, vector: np.ndarray, filters: Filters, limit: int, k: int) -> list[KeywordHit]:
        """Fused hits of the keyword tree and the vector, best first (RRF with constant ``k``)."""
        ...


class Reader(Protocol):
    """What a reader of the index needs: the search channels, articles and their metadata, the
    vocabulary, counts, and the generations and job history (the search service, the app, the
    API hold only this)."""

    def known_terms(self, terms: Sequence[str]) -> set[str]:
        """The vocabulary entries among ``terms`` (exact terms, ``STEM_MARK`` + stem) that occur
        in some indexed article."""

    def get(self, ids: Sequence[str], text: bool = True) -> dict[str, Article]:
        """Articles by id (unknown ids are left out). ``text=False`` skips title and body (left
        empty): ranking, sorting and facets over a result set need only the metadata."""

    def hashes(self) -> dict[str, tuple[str, str]]:
        """article id -> (content_hash, path), for incremental indexing."""

    def keyword(self, tree: Node | None, filters: Filters, limit: int) -> list[KeywordHit]:
        """Articles an expanded query tree (``walk.expand``) matches, best BM25 first."""

    def ranked(self, tree: Node | None, filters: Filters, limit: int) -> tuple[list[KeywordHit], Tally]:
        """``keyword``'s first ``limit`` hits and the ``tally`` of every match, from one pass: a
        query with more matches than the fetch depth needs both, and counting is a second full
        pass of the same query otherwise."""

    def tally(self, tree: Node | None, filters: Filters) -> Tally:
        """Every article the tree matches, counted exactly (no depth limit): the total a
        researcher reads must not be the fetch depth. No tree: the articles the filters select."""

    def stems(self, ids: Sequence[str]) -> dict[str, set[str]]:
        """The distinct stems each article was indexed with (the keyword channel's terms): what
        the top terms of a result set count, without analyzing its texts again."""

    def frequencies(self, stems: Sequence[str]) -> Background:
        """How many articles of the archive hold each stem (the background of top terms)."""

    def expand(self, prefix: str, limit: int) -> list[str]:
        """Vocabulary entries beginning with ``prefix``, in code-point order (``walk.Vocabulary``)."""

    def near(self, entry: str, distance: int, limit: int) -> list[str]:
        """Vocabulary entries that may lie within ``distance`` edits of ``entry`` (a superset)."""

    def semantic(self, vector: np.ndarray, filters: Filters, limit: int) -> list[SemanticHit]:
        """Best passage per article version, best first; a version that is no longer live may
        appear (a write interrupted before its commit point) and is the caller's to drop."""

    def browse(self, filters: Filters, limit: int) -> list[str]:
        """Ids matching only the filters, newest first."""

    def stream(self, tree: Node | None, filters: Filters, batch: int, newest: bool = False) -> Iterator[list[KeywordHit]]:
        """Every article the tree matches (no tree: that the filters select), ``batch`` at a
        time, best BM25 first (``newest`` or no tree: newest first, undated last): an export
        of every match, past any fetch depth."""

    def neighbours(self, article_id: str, limit: int) -> list[SemanticHit]: ...

    def info(self) -> StoreInfo: ...

    def generations(self) -> list[Generation]: ...

    def jobs(self, limit: int) -> list[dict]:
        """The newest job records first; a 'running' job that holds no lock reads 'interrupted'."""


class Writer(Protocol):
    """Writes into one generation: atomic per ``upsert`` batch; readers never see half an article."""

    def check_compatible(self, model: str, dim: int, analysis_version: str) -> None:
        """Record model/dim/analysis on first write; raise ``IndexMismatch`` if they differ."""

    def upsert(self, batch: Sequence[IndexedArticle]) -> None: ...

    def delete(self, ids: Sequence[str]) -> int: ...

    def fingerprints(self, bands: Sequence[str]) -> list[Fingerprint]:
        """The articles holding any of these LSH band keys (``archive.stories``): the earlier
        articles a new one may repeat. Every write before the call is seen."""

    def optimize(self) -> None: ...


class Generations(Protocol):
    """Full rebuilds write a new generation and switch readers to it atomically; one writer at a
    time holds the lock; every job is recorded."""

    @property
    def target(self) -> str | None:
        """The generation (Elasticsearch: the index or alias) this store writes and reads."""

    def new_generation(self, model: str, dim: int, analysis_version: str) -> Store:
        """A store writing into a fresh generation that readers do not see until ``activate``."""

    def activate(self, name: str) -> None: ...

    def drop(self, name: str) -> None:
        """Delete an inactive generation (``StoreError`` for the active one)."""

    def lock(self, job_id: str) -> AbstractContextManager[None]:
        """Hold the index's write lock (released even by kill -9); ``StoreLocked`` if taken."""

    def record_job(self, record: dict) -> None:
        """Add or replace (by ``record["id"]``) a job record."""


class Store(Reader, Writer, Generations, Protocol):
    """A search backend: LanceDB (the embedded default) or Elasticsearch."""


def require_compatible(meta: dict, wanted: dict, where: str, remedy: str) -> None:
    """Raise ``IndexMismatch`` naming every property of an existing index that differs from
    what this writer would write (values compared as text: Elasticsearch's _meta returns
    numbers as the client parsed them)."""
    diff = [f"{k}: index has {meta.get(k)!r}, now {v!r}" for k, v in wanted.items() if str(meta.get(k)) != str(v)]
    if diff:
        raise IndexMismatch(f"{where} was built differently ({'; '.join(diff)}); {remedy}")


def mark_interrupted(records: list[dict], locked: Callable[[], bool]) -> list[dict]:
    """Job records as a reader should see them: a 'running' job whose writer holds no lock any
    more was interrupted (killed, or its machine went down). ``locked`` is asked only when a
    record says 'running' (on Elasticsearch it is a request)."""
    if not any(r.get("status") == "running" for r in records) or locked():
        return records
    return [dict(r, status="interrupted") if r.get("status") == "running" else r for r in records]


def activate_previous(store: Store) -> str:
    """Re-activate the newest complete generation older than the active one; its name."""
    gens = store.generations()
    active = [g for g in gens if g.active]
    if not active:
        raise StoreError("the index has no active generation")
    older = [g for g in gens if g.number < active[-1].number and g.complete]
    if not older:
        raise StoreError(f"no complete generation older than {active[-1].name}: nothing to roll back to")
    store.activate(older[-1].name)
    return older[-1].name


def prune(store: Store, keep: int) -> list[str]:
    """Delete every incomplete inactive generation, then the complete ones beyond the ``keep``
    newest; their names, oldest first."""
    inactive = [g for g in store.generations() if not g.active]
    complete = [g for g in inactive if g.complete]
    kept = {g.name for g in complete[max(0, len(complete) - keep) :]}
    doomed = [g.name for g in inactive if g.name not in kept]
    for name in doomed:
        store.drop(name)
    return doomed
