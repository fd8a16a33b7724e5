"""The hybrid search service: parse, ask the store's two channels, fuse, filter, highlight.

The UI and the CLI call only this module; it calls only the store's Reader protocol, so every backend
gets the same fusion, the same query semantics and the same highlights.
"""

from __future__ import annotations

import datetime as dt
import heapq
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Literal

import numpy as np

from archive import relevance, terms
from archive.analysis import Analyzer, default_analyzer
from archive.embeddings import Embedder
from archive.highlight import highlight_all, snippet
from archive.model import MODES, Article, Mode, Passage, Sort
from archive.query import Bool, Node, Operator, ParsedQuery, Phrase, Term, constraint, leaves, parse
from archive.store.base import STEM_MARK, Filters, KeywordHit, Reader, SemanticHit, ServerFusion, Tally
from archive.store.walk import expand
from archive.timeline import Bucket, Interval, timeline

RRF_K = 60
MAX_PAGE_SIZE = 1000  # an export takes the whole result set in one call
MAX_DEPTH = 10_000  # no channel is read deeper: Elasticsearch's index.max_result_window and num_candidates limit


def rrf(rankings: Sequence[tuple[Sequence[str], float]], k: int = RRF_K) -> dict[str, float]:
    """Weighted reciprocal rank fusion: sum of weight / (k + rank) over the rankings (rank from 1)."""
    fused: dict[str, float] = {}
    for ids, weight in rankings:
        if weight <= 0:
            continue
        for rank, doc in enumerate(ids, 1):
            fused[doc] = fused.get(doc, 0.0) + weight / (k + rank)
    return fused


def query_words(query: ParsedQuery) -> list[tuple[str, ...]]:
    """Per positive word and phrase of a query (prefixes and fuzzy words left out), the
    vocabulary entries the index must hold for the keyword channel to match it: the marked stem
    of a word, the exact terms of a phrase, the marked stems of a title phrase
    (``Store.known_terms`` answers)."""
    out: list[tuple[str, ...]] = []
    for leaf in leaves(query.tree):
        if isinstance(leaf, Term):
            out.append((STEM_MARK + leaf.stem,))
        elif isinstance(leaf, Phrase):
            out.append(tuple(STEM_MARK + t for t in leaf.terms) if leaf.field == "title" else leaf.terms)
    return out


def hybrid_weights(semantic_weight: float, words: Sequence[tuple[str, ...]], known: set[str]) -> tuple[float, float]:
    """(keyword, semantic) RRF weights of a hybrid query. The keyword channel votes in proportion
    to the share of the query's words the index contains at all: an English query over Arabic
    articles shares no words with them, its keyword hits are noise on stray tokens (numbers,
    a transliterated name), and mixing them in pushed the right article down (hadith English ->
    Arabic MRR@10 0.125 dense-only vs 0.077 fused at 0.5). A query whose words all occur keeps
    the chosen weights."""
    share = sum(all(t in known for t in w) for w in words) / len(words) if words else 1.0
    return (1.0 - semantic_weight) * share, semantic_weight


def stories_of(ordered: Sequence[str], articles: dict[str, Article]) -> dict[str, list[str]]:
    """The first match of each story in ``ordered`` (where the story ranks), with the story's
    other matches, newest first (undated last): a wire story republished by five sources is one
    result with four more versions, not five results."""
    out: dict[str, list[str]] = {}
    first: dict[str, str] = {}
    for d in ordered:
        story = articles[d].story_id
        if story in first:
            out[first[story]].append(d)
        else:
            first[story], out[d] = d, []
    for others in out.values():
        others.sort(key=lambda d: newest_first(articles[d]))
    return out


def newest_first(a: Article) -> tuple[bool, float]:
    """A sort key: newest first, undated last."""
    return (a.published_at is None, -a.published_at.timestamp() if a.published_at else 0.0)


def live_hits(hits: Sequence[SemanticHit], articles: dict[str, Article]) -> list[SemanticHit]:
    """The hits whose passage belongs to the live version of its article (``articles`` read
    after the search): a write interrupted before its commit point leaves passages of a version
    that never went live, and the store leaves dropping them to this one metadata read."""
    return [h for h in hits if h.article_id in articles and articles[h.article_id].content_hash == h.content_hash]


@dataclass
class Hit:
    """One result with the reasons it matched."""

    article: Article
    fused_score: float
    keyword_rank: int | None
    keyword_score: float | None
    semantic_rank: int | None
    semantic_score: float | None
    passage: Passage | None
    title_html: str
    snippet_html: str
    matched_words: int
    weak: bool = False  # a semantic hit below the relevance floor, shown only on request
    versions: list[Article] = field(default_factory=list)  # grouped: the story's other matches, newest first

    @property
    def match(self) -> str:
        """'keyword', 'semantic' or 'both': which channels found this article; '' when neither
        ranked it (a filter-only listing, or fusion done by the server)."""
        if self.keyword_rank and self.semantic_rank:
            return "both"
        return "keyword" if self.keyword_rank else "semantic" if self.semantic_rank else ""


Evidence = tuple[float, tuple[int, float] | None, tuple[int, SemanticHit] | None]  # fused, keyword, semantic


@dataclass(frozen=True)
class Counted:
    """How a result set was counted, so that one source's part of it can be counted the same
    way: the store's tally of ``tree`` under the filters (when ``stored``; less that of
    ``excluded``), plus the matches at hand (``local``, metadata only)."""

    stored: bool = False
    tree: Node | None = None
    excluded: Node | None = None
    local: tuple[Article, ...] = ()


@dataclass
class SearchResult:
    query: ParsedQuery
    mode: Mode
    hits: list[Hit]
    total: int
    page: int
    page_size: int
    took_ms: float
    tally: Tally = field(default_factory=Tally)  # every match per source and day (facets, timeline)
    filters: Filters = field(default_factory=Filters)  # what the query and the caller filtered on
    counted: Counted = field(default_factory=Counted)
    warnings: list[str] = field(default_factory=list)
    weights: tuple[float, float] = (0.5, 0.5)  # (keyword, semantic) RRF weights the fusion used
    # ``total`` counts the matches exactly unless ``total_exact`` is False: the semantic channel
    # filled its whole fetch depth above the floor, so there may be more ("more than N")
    total_exact: bool = True
    keyword_total: int = 0  # exact number of keyword matches
    semantic_total: int = 0  # semantic matches above the floor (a lower bound if not total_exact)
    weaker: int = 0  # semantic hits below the floor (not counted), listed after the matches when asked for
    # every ranked match in the order shown, and why each is there: (fused score, keyword
    # (rank, score), semantic (rank, hit)); ``SearchService.export`` goes on past them
    order: tuple[str, ...] = ()
    sort: Sort = "relevance"  # the order used (a listing of filters alone is always newest first)
    # grouped by story: the stories among the listed matches (each one result, its versions
    # beside it); ``stories_exact`` False when the listing stops at the fetch depth
    stories: int = 0
    stories_exact: bool = True
    evidence: dict[str, Evidence] = field(default_factory=dict)

    @property
    def sources(self) -> dict[str, int]:
        return self.tally.sources

    @property
    def years(self) -> dict[int, int]:
        return self.tally.years

    @property
    def total_text(self) -> str:
        """The count as a reader should see it: "1,234" or "more than 1,234"."""
        return f"{self.total:,}" if self.total_exact else f"more than {self.total:,}"


@dataclass
class _Plan:
    """A search's question, settled by ``SearchService._plan`` before the channels are asked."""

    text: str
    query: ParsedQuery
    mode: Mode
    weight: float  # the semantic weight asked for
    filters: Filters
    page: int
    page_size: int
    sort: Sort
    warnings: list[str]
    depth: int = 100  # how deep each channel is read
    semantic: bool = False  # the semantic channel runs (there is text for it and the index's model matches)
    fuser: ServerFusion | None = None  # the store fuses both channels itself, when it can
    server: bool = False  # and it does, for this search
    browsing: bool = False  # filters (and exclusions) alone: a listing, newest first


@dataclass
class _Work:
    """What the steps of one search hand on to each other."""

    kw: list[KeywordHit] = field(default_factory=list)
    kw_tally: Tally = field(default_factory=Tally)  # the store's tally of every keyword match
    sem: list[SemanticHit] = field(default_factory=list)  # above the floor
    weak: list[SemanticHit] = field(default_factory=list)  # below it
    server_fused: dict[str, float] | None = None
    articles: dict[str, Article] = field(default_factory=dict)  # metadata of every candidate
    fused: dict[str, float] = field(default_factory=dict)
    weights: tuple[float, float] = (0.5, 0.5)
    listed: int = 0  # the length of a filter-only listing
    weak_ids: list[str] = field(default_factory=list)
    kw_rank: dict[str, tuple[int, float]] = field(default_factory=dict)
    sem_rank: dict[str, tuple[int, SemanticHit]] = field(default_factory=dict)
    ordered: list[str] = field(default_factory=list)
    counted: Counted = field(default_factory=Counted)
    tally: Tally = field(default_factory=Tally)
    kw_total: int = 0


class SearchService:
    """Stateless over a store; the embedder is created lazily (keyword search needs no model)."""

    def __init__(
        self,
        store: Reader,
        embedder: Embedder | Callable[[], Embedder],
        analyzer: Analyzer | None = None,
        floor: relevance.Floor | None | Literal["default"] = "default",
    ) -> None:
        """``floor``: the semantic relevance floor; "default" is the one calibrated for the
        model (none for a model it was not calibrated for), None counts every semantic hit."""
        self.store = store
        self._embedder = embedder
        self.analyzer = analyzer or default_analyzer()
        self._floor = floor
        self._floor_note = ""  # why semantic hits are not floored, when the default cannot apply
        self._indexed_model: str | None = None  # the model the index was embedded with, read once

    @property
    def embedder(self) -> Embedder:
        if not isinstance(self._embedder, Embedder):
            self._embedder = self._embedder()
        return self._embedder

    @property
    def floor(self) -> relevance.Floor | None:
        """The floor in use (resolving "default" needs the model's name, so the model)."""
        if self._floor == "default":
            name = self.embedder.name
            self._floor = relevance.default_floor(self.embedder) if name in relevance.CALIBRATED_MODELS else None
            if self._floor is None:
                self._floor_note = f"semantic hits are not floored: no relevance floor is calibrated for {name}"
        return self._floor if isinstance(self._floor, relevance.Floor) else None

    def search(
        self,
        text: str,
        mode: Mode = "hybrid",
        semantic_weight: float = 0.5,
        sources: Sequence[str] = (),
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        sort: Sort = "relevance",
        page: int = 1,
        page_size: int = 10,
        weaker: bool = False,
        default: Operator = "OR",
        group: bool = False,
    ) -> SearchResult:
        """One page of results. Keyword matches always count; a semantic hit counts only above
        the model's relevance floor (``weaker``: list the hits below it after the matches,
        marked, never counted) and only if it obeys the query's required and excluded parts.
        ``default``: the operator between juxtaposed words. ``group``: one result per story
        (near-duplicates republished by several sources), where its best version ranks, with
        the other versions beside it; pages count stories."""
        t0 = time.perf_counter()
        plan = self._plan(text, mode, semantic_weight, sources, date_from, date_to, sort, page, page_size, default)
        work = self._retrieve(plan)
        self._fuse(plan, work)
        self._order(plan, work)
        self._tally(plan, work)
        hits, stories = self._page(plan, work, weaker, group)
        self._closing_warnings(plan, work)
        return SearchResult(
            plan.query,
            plan.mode,
            hits,
            work.tally.total,
            plan.page,
            plan.page_size,
            round((time.perf_counter() - t0) * 1000, 1),
            work.tally,
            plan.filters,
            work.counted,
            plan.warnings,
            (round(work.weights[0], 4), round(work.weights[1], 4)),
            total_exact=not (len(work.sem) >= plan.depth and plan.mode != "keyword"),
            keyword_total=work.kw_total,
            semantic_total=sum(1 for h in work.sem if h.article_id in work.fused),
            weaker=len(work.weak_ids),
            order=tuple(work.ordered),
            sort=plan.sort,
            stories=stories,
            stories_exact=not work.counted.stored,
            evidence={d: (work.fused.get(d, 0.0), work.kw_rank.get(d), work.sem_rank.get(d)) for d in work.ordered},
        )

    def _plan(
        self,
        text: str,
        mode: Mode,
        semantic_weight: float,
        sources: Sequence[str],
        date_from: dt.date | None,
        date_to: dt.date | None,
        sort: Sort,
        page: int,
        page_size: int,
        default: Operator,
    ) -> _Plan:
        """Step 1: what the search will ask, decided before any store call but the model check."""
        query = self.parse(text, default)
        plan = _Plan(
            text=text,
            query=query,
            mode=mode if mode in MODES else "hybrid",
            weight=min(1.0, max(0.0, float(semantic_weight))),
            filters=Filters.of(query, sources, date_from, date_to),
            page=max(1, int(page)),
            page_size=max(1, min(int(page_size), MAX_PAGE_SIZE)),
            sort=sort,
            warnings=list(query.warnings),
        )
        plan.depth = min(MAX_DEPTH, max(100, plan.page * plan.page_size * 2))
        wants_meaning = plan.mode != "keyword" and bool(query.semantic_text.strip())
        mismatch = self._model_mismatch() if wants_meaning else ""
        if mismatch:
            plan.warnings.append(mismatch)
        plan.semantic = wants_meaning and not mismatch
        plan.fuser = self.store if isinstance(self.store, ServerFusion) and self.store.server_rrf else None
        plan.server = plan.mode == "hybrid" and plan.fuser is not None and plan.semantic
        plan.browsing = (
            not query.semantic_text.strip()
            and not query.has_keyword_clauses
            and bool(plan.filters.sources or plan.filters.date_from or plan.filters.date_to or query.excluded_only)
        )
        if plan.browsing:  # filters (and exclusions) alone: a listing, newest first
            plan.sort = "newest"
        return plan

    def _retrieve(self, plan: _Plan) -> _Work:
        """Step 2: each channel's candidates (or the cluster's fusion of both), their metadata in
        one read, the semantic hits split at the relevance floor."""
        work = _Work()
        if plan.mode != "semantic" and not plan.server:
            work.kw, work.kw_tally = self.store.ranked(plan.query.tree, plan.filters, plan.depth)
        if plan.mode == "hybrid":
            plan.warnings.extend(getattr(self.store, "warnings", ()))  # e.g. server-side fusion unavailable
        sem: list[SemanticHit] = []
        vec: np.ndarray | None = None
        if plan.semantic:
            vec = self.embedder.queries([plan.query.semantic_text])[0]
            if plan.server and plan.fuser is not None:  # equal weights; per-channel ranks are not reported
                hits = plan.fuser.hybrid(plan.query.tree, vec, plan.filters, plan.depth, RRF_K)
                work.server_fused = {h.article_id: h.score for h in hits}
                if plan.weight != 0.5:
                    plan.warnings.append("server-side fusion (rrf retriever) weighs both channels equally")
            else:
                sem = self.store.semantic(vec, plan.filters, plan.depth)
        # one metadata read for the hits of both channels (text is read for one page only)
        ids = list(dict.fromkeys([h.article_id for h in work.kw] + [h.article_id for h in sem]))
        work.articles = self.store.get(ids, text=False)
        work.sem, work.weak = self._split(live_hits(sem, work.articles), vec, plan.query.semantic_text)
        if vec is not None and self._floor_note:
            plan.warnings.append(self._floor_note)
        return work

    def _fuse(self, plan: _Plan, work: _Work) -> None:
        """Step 3: one fused ranking (weighted RRF, the cluster's, or a listing), then only the
        candidates that obey the query's required parts and exclusions, the weaker ones too."""
        if work.server_fused is not None:
            work.fused = work.server_fused
        else:
            weights = (1.0, 0.0) if plan.mode == "keyword" else (0.0, 1.0)
            if plan.mode == "hybrid":
                words = query_words(plan.query) if work.kw and work.sem else []
                known = self.store.known_terms(sorted({t for w in words for t in w})) if words else set()
                weights = hybrid_weights(plan.weight, words, known)
            work.weights = weights
            work.fused = rrf([([h.article_id for h in work.kw], weights[0]), ([h.article_id for h in work.sem], weights[1])])
        if plan.browsing:
            listing = self.store.browse(plan.filters, plan.depth)
            work.fused, work.listed = rrf([(listing, 1.0)]), len(listing)
        work.fused = self._constrain(plan.query, plan.filters, work.fused)
        weak = dict.fromkeys((h.article_id for h in work.weak if h.article_id not in work.fused), 0.0)
        work.weak_ids = list(self._constrain(plan.query, plan.filters, weak))

    def _order(self, plan: _Plan, work: _Work) -> None:
        """Step 4: the fused order; equal fused scores (mirror-image ranks) go to the better
        keyword rank, exact evidence first. Reads the metadata of candidates no channel brought
        (a listing's, the cluster's)."""
        work.kw_rank = {h.article_id: (i, h.score) for i, h in enumerate(work.kw, 1)}
        by_score = sorted(work.sem + work.weak, key=lambda h: -h.score)
        work.sem_rank = {h.article_id: (i, h) for i, h in enumerate(by_score, 1)}
        never = len(work.fused) + 1
        fused, kw_rank, sem_rank = work.fused, work.kw_rank, work.sem_rank
        ordered = sorted(fused, key=lambda d: (-fused[d], kw_rank.get(d, (never,))[0], sem_rank.get(d, (never,))[0], d))
        unread = [d for d in ordered if d not in work.articles]
        if unread:
            work.articles.update(self.store.get(unread, text=False))
        work.ordered = [d for d in ordered if d in work.articles]
        work.weak_ids = [d for d in work.weak_ids if d in work.articles]

    def _tally(self, plan: _Plan, work: _Work) -> None:
        """Step 5: the exact count of the match set, its facets, and for a newest-first sort of
        a keyword set larger than one read, the newest of every match (not of the best-ranked)."""
        work.counted = self._counted(
            plan.query, plan.filters, work.ordered, work.articles, work.kw, plan.depth, work.listed >= plan.depth
        )
        keyword_part = work.counted.stored and work.counted.tree is not None  # the store counted every keyword match
        work.tally = self._count(work.counted, plan.filters, work.kw_tally if keyword_part else None)
        work.kw_total = work.kw_tally.total if keyword_part else sum(1 for h in work.kw if h.article_id in work.fused)
        if plan.sort != "newest":
            return
        if keyword_part:
            newest = list(islice(self._by_date(work.counted, plan.filters, plan.depth), plan.depth))
            work.articles.update((a.id, a) for a in newest)
            work.ordered = [a.id for a in newest]
        for listing in (work.ordered, work.weak_ids):
            listing.sort(key=lambda d: (work.articles[d].published_at or dt.datetime.min), reverse=True)

    def _page(self, plan: _Plan, work: _Work, weaker: bool, group: bool) -> tuple[list[Hit], int]:
        """Step 6: the page asked for (the weaker matches after the matches when asked for; one
        entry per story when grouped), its full text read once, highlighted. Returns the hits and
        the number of stories."""
        versions = stories_of(work.ordered, work.articles) if group else {}
        shown = [d for d in work.ordered if d in versions] if group else work.ordered
        listing = shown + (work.weak_ids if weaker else [])
        page_ids = listing[(plan.page - 1) * plan.page_size : plan.page * plan.page_size]
        full = self.store.get(page_ids + [v for d in page_ids for v in versions.get(d, ())])
        weak = set(work.weak_ids)
        hits = [
            self._hit(
                full[d],
                work.fused.get(d, 0.0),
                work.kw_rank.get(d),
                work.sem_rank.get(d),
                plan.query,
                plan.mode,
                d in weak,
                [full[v] for v in versions.get(d, ()) if v in full],
            )
            for d in page_ids
            if d in full
        ]
        return hits, len(versions)

    @staticmethod
    def _closing_warnings(plan: _Plan, work: _Work) -> None:
        """What the reader should know about the answer as a whole."""
        query = plan.query
        if not plan.browsing and not query.has_keyword_clauses and not query.semantic_text.strip() and plan.text.strip():
            plan.warnings.append("the query has no searchable words (only stop words, operators or filters)")
        if plan.page * plan.page_size * 2 > MAX_DEPTH and work.tally.total > len(work.ordered):
            plan.warnings.append(
                f"only the first {len(work.ordered):,} ranked matches can be paged through (each channel is "
                f"read at most {MAX_DEPTH:,} deep): narrow the query or the filters to reach the others"
            )

    def _model_mismatch(self) -> str:
        """Why the semantic channel is off: the index's vectors come from another model than the
        queries' would (their similarities mean nothing), or ''. The index's model is read once
        (a model change rebuilds the index: a long-running reader is then restarted)."""
        if self._indexed_model is None:
            self._indexed_model = self.store.info().model or ""
        name = self.embedder.name
        if self._indexed_model and self._indexed_model != name:
            return (
                f"the index was embedded with {self._indexed_model!r} and queries would be embedded with {name!r}: "
                f"their similarities mean nothing, so the semantic channel is off (use --model / $ARCHIVE_MODEL "
                f"{self._indexed_model!r}, or rebuild the index)"
            )
        return ""

    def _split(
        self, hits: list[SemanticHit], vector: np.ndarray | None, text: str
    ) -> tuple[list[SemanticHit], list[SemanticHit]]:
        """(matches, weaker): the semantic hits above and below the relevance floor."""
        floor = self.floor if vector is not None and hits else None
        if floor is None or vector is None:
            return hits, []
        keep = floor.mask(vector, [h.score for h in hits], text)
        return [h for h, k in zip(hits, keep, strict=False) if k], [h for h, k in zip(hits, keep, strict=False) if not k]

    def parse(self, text: str, default: Operator = "OR") -> ParsedQuery:
        """The query with its prefix and fuzzy words expanded over this index's vocabulary."""
        query = parse(text, self.analyzer, default)
        if query.tree is not None:
            query.tree, notes = expand(query.tree, self.store)
            query.warnings.extend(notes)
        return query

    def _counted(
        self,
        query: ParsedQuery,
        filters: Filters,
        ordered: Sequence[str],
        articles: dict[str, Article],
        kw: Sequence[KeywordHit],
        depth: int,
        listing_full: bool,
    ) -> Counted:
        """How to count the match set exactly. When every match was fetched, the articles at hand
        are the set. The keyword channel and a listing stop at the fetch depth: when one filled
        it, the store's tally of all of them (of the keyword query, or of the filters less the
        excluded) holds the rest, and semantic matches that are also keyword matches past the
        depth are counted once."""
        kw_ids = {h.article_id for h in kw}
        if listing_full:
            excluded = Bool(should=query.tree.must_not) if isinstance(query.tree, Bool) else None
            return Counted(True, None, excluded)
        if len(kw) < depth or not query.has_keyword_clauses:
            return Counted(local=tuple(articles[d] for d in ordered))
        others = tuple(d for d in ordered if d not in kw_ids)
        beyond = self._matching(query.tree, filters, others)  # in the store's tally already
        return Counted(True, query.tree, local=tuple(articles[d] for d in others if d not in beyond))

    def _by_date(self, counted: Counted, filters: Filters, batch: int) -> Iterator[Article]:
        """Every match of a keyword set larger than one read, newest first (undated last): the
        store's keyword matches by date, merged with the semantic matches outside them."""

        stored = self._metadata(
            [h.article_id for h in part] for part in self.store.stream(counted.tree, filters, batch, newest=True)
        )
        return heapq.merge(stored, sorted(counted.local, key=newest_first), key=newest_first)

    def _metadata(self, parts: Iterable[list[str]]) -> Iterator[Article]:
        """The articles each batch of ids names, metadata only, in the batch's order (one read
        per batch: a pass over a whole result set or archive holds one batch at a time)."""
        for ids in parts:
            found = self.store.get(ids, text=False)
            yield from (found[d] for d in ids if d in found)

    def _count(self, counted: Counted, filters: Filters, stored: Tally | None = None) -> Tally:
        """The tally ``counted`` describes, under ``filters`` (the search's, or one source's);
        ``stored``: the store's tally of the tree, when the search has it already."""
        local = Tally.of(a for a in counted.local if not filters.sources or a.source in filters.sources)
        if not counted.stored:
            return local
        total = stored if stored is not None else self.store.tally(counted.tree, filters)
        if counted.excluded is not None:
            total -= self.store.tally(counted.excluded, filters)
        return total + local

    def _constrain(self, query: ParsedQuery, filters: Filters, fused: dict[str, float]) -> dict[str, float]:
        """Keep the candidates of every channel that obey the query's required parts and
        exclusions (``query.constraint``), asking the store: an article excluded by NOT never
        appears, a semantic hit too must hold a required group."""
        rule = constraint(query.tree)
        if not fused or rule is None:
            return fused
        if rule.must:
            keep = self._matching(rule, filters, tuple(fused))
            return {d: s for d, s in fused.items() if d in keep}
        drop = self._matching(Bool(should=rule.must_not), filters, tuple(fused))
        return {d: s for d, s in fused.items() if d not in drop}

    def _matching(self, tree: Node | None, filters: Filters, ids: tuple[str, ...]) -> set[str]:
        """The candidates among ``ids`` that ``tree`` matches, asked ``MAX_DEPTH`` at a time
        (two channels' candidates can be twice what one request may return)."""
        out: set[str] = set()
        for i in range(0, len(ids), MAX_DEPTH):
            chunk = ids[i : i + MAX_DEPTH]
            scoped = Filters(filters.sources, filters.date_from, filters.date_to, chunk)
            out.update(h.article_id for h in self.store.keyword(tree, scoped, len(chunk)))
        return out

    def _hit(
        self,
        a: Article,
        fused: float,
        kw: tuple[int, float] | None,
        sem: tuple[int, SemanticHit] | None,
        query: ParsedQuery,
        mode: Mode = "hybrid",
        weak: bool = False,
        versions: Sequence[Article] = (),
    ) -> Hit:
        title_html = highlight_all(a.title, query, self.analyzer, title=True)
        body_html, matches = snippet(a.body, query, analyzer=self.analyzer)
        passage = Passage(a.id, sem[1].n, sem[1].start, sem[1].end, a.body[sem[1].start : sem[1].end]) if sem else None
        if passage is not None and (mode == "semantic" or weak or matches == 0):
            # the snippet is the passage the hit names as best, with the query words it holds
            body_html, _ = snippet(passage.text, query, words=60, analyzer=self.analyzer)
            if passage.start > 0 and not body_html.startswith("… "):
                body_html = "… " + body_html
        return Hit(
            article=a,
            fused_score=round(fused, 6),
            keyword_rank=kw[0] if kw else None,
            keyword_score=round(kw[1], 4) if kw else None,
            semantic_rank=sem[0] if sem else None,
            semantic_score=round(sem[1].score, 4) if sem else None,
            passage=passage,
            title_html=title_html,
            snippet_html=body_html,
            matched_words=matches,
            weak=weak,
            versions=list(versions),
        )

    def export(self, result: SearchResult, batch: int = 500) -> Iterator[Hit]:
        """Every match of a result set: the ranked ones in the order shown, then those past the
        fetch depth in the store's order (best BM25 first; newest first for a listing or when
        sorted by date), nothing capped. Articles are read ``batch`` at a time, so memory holds
        ids, not texts; the weaker matches are not part of it."""
        for part in self.matches(result, batch):
            full = self.store.get([d for d, _ in part])
            yield from (self._hit(full[d], *why, result.query, result.mode) for d, why in part if d in full)

    def matches(self, result: SearchResult, batch: int = 500) -> Iterator[list[tuple[str, Evidence]]]:
        """The ids of every match in ``export``'s order, ``batch`` at a time, each with why it
        matched (past the ranked list: its rank among every keyword match)."""
        counted = result.counted
        ranked = iter(result.order)
        if result.sort == "newest" and counted.stored and counted.tree is not None:
            ranked = (a.id for a in self._by_date(counted, result.filters, batch))
        while ids := list(islice(ranked, batch)):
            yield [(d, result.evidence.get(d, (0.0, None, None))) for d in ids]
        if not counted.stored or result.sort == "newest" and counted.tree is not None:
            return  # every match was in the ranked list, or in the merge by date
        seen = set(result.order)
        done = 0
        for part in self.store.stream(counted.tree, result.filters, batch, newest=result.sort == "newest"):
            fresh = {h.article_id for h in part if h.article_id not in seen}
            if counted.excluded is not None and fresh:
                fresh -= self._matching(counted.excluded, result.filters, tuple(fresh))
            yield [
                (h.article_id, (0.0, (rank, h.score) if counted.tree is not None else None, None))
                for rank, h in enumerate(part, done + 1)
                if h.article_id in fresh
            ]
            done += len(part)

    def story_firsts(self, result: SearchResult, sources: Sequence[str] = ()) -> dict[str | None, dict[str, dt.date | None]]:
        """Every story of the result set (``None``) and of its part from each of ``sources``,
        with the day its earliest matching version was published (None: no version dated):
        stories counted exactly past the fetch depth, by reading every match's metadata (on
        request: one more pass over the set)."""
        return self._firsts(self._metadata([d for d, _ in part] for part in self.matches(result, 2000)), sources)

    @staticmethod
    def _firsts(articles: Iterable[Article], sources: Sequence[str]) -> dict[str | None, dict[str, dt.date | None]]:
        """``story_firsts`` of ``articles``."""
        out: dict[str | None, dict[str, dt.date | None]] = {None: {}, **{s: {} for s in sources}}
        for a in articles:
            day = a.published_at.date() if a.published_at else None
            for key in (None, a.source) if a.source in out else (None,):
                seen = out[key]
                old = seen.get(a.story_id, day)
                seen[a.story_id] = day if old is None else min(old, day) if day else old
        return out

    def timeline(
        self,
        result: SearchResult,
        interval: Interval | Literal["auto"] = "auto",
        sources: Sequence[str] = (),
        stories: bool = False,
        firsts: dict[str | None, dict[str, dt.date | None]] | None = None,
    ) -> tuple[Interval, list[Bucket], dict[str, list[Bucket]]]:
        """(interval, buckets, buckets per source): the result set's matches per day, week, month
        or year beside every article under the same filters, over the span of those articles,
        and the same for the part of the set from each of ``sources``, bucket for bucket (more
        store passes: on request only). ``stories``: count stories instead of articles, each in
        the bucket of its earliest version in the archive (from that source, per source), beside
        the archive's stories counted the same way
        (every match's and every article's metadata is read: slower on a large archive);
        ``firsts``: the result set's ``story_firsts`` for ``sources``, when the caller has them."""
        every = self.store.tally(None, result.filters)
        span = (min(every.days), max(every.days)) if every.days else None
        if stories:
            mine = firsts if firsts is not None else self.story_firsts(result, sources)
            listing = self._metadata([h.article_id for h in part] for part in self.store.stream(None, result.filters, 2000))
            archive = self._firsts(listing, sources)

            def days(stories: Iterable[str], first: dict[str, dt.date | None]) -> dict[dt.date, int]:
                """Stories per day of their first version in the archive (a matching story
                whose original does not match still counts where it first appeared, so no
                bucket holds more matching stories than stories)."""
                return dict(Counter(d for s in stories if (d := first.get(s)) is not None))

            chosen, overall = timeline(days(mine[None], archive[None]), days(archive[None], archive[None]), interval, span)
            return (
                chosen,
                overall,
                {s: timeline(days(mine[s], archive[s]), days(archive[s], archive[s]), chosen, span)[1] for s in sources},
            )
        chosen, overall = timeline(result.tally.days, every.days, interval, span)
        by_source = {}
        for name in sources:
            one = replace(result.filters, sources=(name,))
            by_source[name] = timeline(self._count(result.counted, one).days, self.store.tally(None, one).days, chosen, span)[1]
        return chosen, overall, by_source

    def top_terms(self, result: SearchResult, limit: int = 25, sample: int = terms.SAMPLE) -> terms.TopTerms:
        """The result set's significant terms: the stems of its first ``sample`` matches in the
        order shown, scored against how many articles of the archive hold them; the query's own
        words are left out (every match holds them), and each stem is shown as the form the
        matches write most. A term added to the query (``+term``) narrows the set to it."""
        ids = list(islice((d for part in self.matches(result, sample) for d, _ in part), sample))  # past the ranked list too
        held = self.store.stems(ids)
        mine: set[str] = set()
        for leaf in leaves(result.query.tree):
            written = [leaf.text, *(t.lstrip(STEM_MARK) for t in getattr(leaf, "terms", None) or ())]
            mine.update(self.analyzer.stem_terms(" ".join(written)))
        found = terms.candidates((held[d] for d in ids if d in held), mine)
        bg = self.store.frequencies([t for t, _ in found])
        scored = sorted(
            ((terms.jlh(n, len(held), bg.counts.get(t, 0), bg.counted), t, n) for t, n in found),
            key=lambda x: (-x[0], -x[2], x[1]),
        )  # ties: the more frequent, then code-point order
        top = [(score, t, n) for score, t, n in scored if score > 0][:limit]
        chosen = {t for _, t, _ in top}
        readers: dict[str, None] = {}  # the first matches that show each chosen stem's written forms
        for t in chosen:
            readers.update(dict.fromkeys([d for d in ids if t in held.get(d, ())][: terms.FORMS_PER_TERM]))
        texts = self.store.get(list(readers))
        forms = terms.written_forms((a.text for a in texts.values()), chosen, self.analyzer)
        scale = bg.articles / bg.counted if bg.counted else 1.0  # a sampled background, as a number of the archive
        return terms.TopTerms(
            [terms.TopTerm(forms.get(t, t), t, n, max(n, round(bg.counts.get(t, 0) * scale)), score) for score, t, n in top],
            len(held),
            result.total,
            bg.counted,
            bg.articles,
        )

    def article(self, article_id: str, text: str = "") -> tuple[Article, str, str] | None:
        """(article, title HTML, body HTML) with the query's matches marked; None if unknown."""
        a = self.store.get([article_id]).get(article_id)
        if a is None:
            return None
        query = self.parse(text)
        return a, highlight_all(a.title, query, self.analyzer, title=True), highlight_all(a.body, query, self.analyzer)

    def similar(self, article_id: str, limit: int = 5) -> list[tuple[Article, float]]:
        """Vector neighbours of an article (mean of its passage vectors)."""
        hits = self.store.neighbours(article_id, limit)
        found = self.store.get([h.article_id for h in hits])
        return [(found[h.article_id], round(h.score, 4)) for h in live_hits(hits, found)]
