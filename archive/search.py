"""The hybrid search service: parse, ask the store's two channels, fuse, filter, highlight.

The UI and the CLI call only this module; it calls only the Store protocol, so every backend
gets the same fusion, the same query semantics and the same highlights.
"""

from __future__ import annotations

import datetime as dt
import html
import time
from dataclasses import dataclass, field
from typing import Callable, Literal, Sequence

from archive.analysis import Analyzer, default_analyzer
from archive.embeddings import Embedder
from archive.highlight import highlight_all, snippet
from archive.model import Article, Passage
from archive.query import ParsedQuery, parse
from archive.store.base import STEM_MARK, Filters, SemanticHit, Store

Mode = Literal["hybrid", "keyword", "semantic"]
Sort = Literal["relevance", "newest"]
MODES: tuple[Mode, ...] = ("hybrid", "keyword", "semantic")
RRF_K = 60
MAX_PAGE_SIZE = 1000  # an export takes the whole result set in one call
MAX_DEPTH = 10_000  # candidates asked of each channel: Elasticsearch's result window (a deeper page is empty)


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
    """Per positive word and phrase of a query (prefixes left out), the vocabulary entries the
    index must hold for the keyword channel to match it: the marked stem of a word, the exact
    terms of a phrase (``Store.known_terms`` answers)."""
    return [c.terms if c.kind == "phrase" else (STEM_MARK + c.terms[0],)
            for group in query.groups for c in group if c.kind in ("phrase", "term")]


def hybrid_weights(semantic_weight: float, words: Sequence[tuple[str, ...]], known: set[str]) -> tuple[float, float]:
    """(keyword, semantic) RRF weights of a hybrid query. The keyword channel votes in proportion
    to the share of the query's words the index contains at all: an English query over Arabic
    articles shares no words with them, its keyword hits are noise on stray tokens (numbers,
    a transliterated name), and mixing them in pushed the right article down (hadith English ->
    Arabic MRR@10 0.125 dense-only vs 0.077 fused at 0.5). A query whose words all occur keeps
    the chosen weights."""
    share = sum(all(t in known for t in w) for w in words) / len(words) if words else 1.0
    return (1.0 - semantic_weight) * share, semantic_weight


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

    @property
    def match(self) -> str:
        """'keyword', 'semantic' or 'both': which channels found this article; '' when neither
        ranked it (a filter-only listing, or fusion done by the server)."""
        if self.keyword_rank and self.semantic_rank:
            return "both"
        return "keyword" if self.keyword_rank else "semantic" if self.semantic_rank else ""


@dataclass
class SearchResult:
    query: ParsedQuery
    mode: Mode
    hits: list[Hit]
    total: int
    page: int
    page_size: int
    took_ms: float
    sources: dict[str, int] = field(default_factory=dict)
    years: dict[int, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    weights: tuple[float, float] = (0.5, 0.5)  # (keyword, semantic) RRF weights the fusion used


class SearchService:
    """Stateless over a store; the embedder is created lazily (keyword search needs no model)."""

    def __init__(self, store: Store, embedder: Embedder | Callable[[], Embedder], analyzer: Analyzer | None = None) -> None:
        self.store = store
        self._embedder = embedder
        self.analyzer = analyzer or default_analyzer()

    @property
    def embedder(self) -> Embedder:
        if not isinstance(self._embedder, Embedder):
            self._embedder = self._embedder()
        return self._embedder

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
    ) -> SearchResult:
        t0 = time.perf_counter()
        query = parse(text, self.analyzer)
        warnings = list(query.warnings)
        mode = mode if mode in MODES else "hybrid"
        page = max(1, int(page))
        page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
        weight = min(1.0, max(0.0, float(semantic_weight)))
        filters = Filters.of(query, sources, date_from, date_to)
        depth = min(MAX_DEPTH, max(100, page * page_size * 2))

        server = mode == "hybrid" and getattr(self.store, "server_rrf", False) and query.semantic_text.strip()
        weights = (0.5, 0.5)
        kw = self.store.keyword(query, filters, depth) if mode != "semantic" and not server else []
        sem: list[SemanticHit] = []
        if mode != "keyword" and query.semantic_text.strip():
            vec = self.embedder.queries([query.semantic_text])[0]
            if server:  # the cluster fuses (equal weights); per-channel ranks are not reported
                fused = {h.article_id: h.score for h in self.store.hybrid(query, vec, filters, depth, RRF_K)}
                if weight != 0.5:
                    warnings.append("server-side fusion (rrf retriever) weighs both channels equally")
            else:
                sem = self.store.semantic(vec, filters, depth)
        # one metadata read for the hits of both channels (text is read for one page only)
        articles = self.store.get(list(dict.fromkeys([h.article_id for h in kw] + [h.article_id for h in sem])), text=False)
        sem = live_hits(sem, articles)
        if not server:
            weights = (1.0, 0.0) if mode == "keyword" else (0.0, 1.0)
            if mode == "hybrid":
                words = query_words(query) if kw and sem else []
                known = self.store.known_terms(sorted({t for w in words for t in w})) if words else set()
                weights = hybrid_weights(weight, words, known)
            fused = rrf([([h.article_id for h in kw], weights[0]), ([h.article_id for h in sem], weights[1])])
        browsing = not query.semantic_text.strip() and not query.has_keyword_clauses and (
            filters.sources or filters.date_from or filters.date_to
        )
        if browsing:  # filters alone: list what they select, newest first
            fused = rrf([(self.store.browse(filters, depth), 1.0)])
            sort = "newest"
        fused = self._constrain(query, filters, fused)

        kw_rank = {h.article_id: (i, h.score) for i, h in enumerate(kw, 1)}
        sem_rank = {h.article_id: (i, h) for i, h in enumerate(sem, 1)}
        never = len(fused) + 1
        # equal fused scores (mirror-image ranks) go to the better keyword rank: exact evidence first
        ordered = sorted(fused, key=lambda d: (-fused[d], kw_rank.get(d, (never,))[0], sem_rank.get(d, (never,))[0], d))
        unread = [d for d in ordered if d not in articles]  # a listing, or the server's fusion
        if unread:
            articles.update(self.store.get(unread, text=False))
        ordered = [d for d in ordered if d in articles]
        if sort == "newest":
            ordered.sort(key=lambda d: (articles[d].published_at or dt.datetime.min), reverse=True)
        sources_count: dict[str, int] = {}
        years: dict[int, int] = {}
        for d in ordered:
            a = articles[d]
            sources_count[a.source] = sources_count.get(a.source, 0) + 1
            if a.published_at:
                years[a.published_at.year] = years.get(a.published_at.year, 0) + 1

        page_ids = ordered[(page - 1) * page_size : page * page_size]
        full = self.store.get(page_ids)
        hits = [self._hit(full[d], fused[d], kw_rank.get(d), sem_rank.get(d), query) for d in page_ids if d in full]
        if not browsing and not query.has_keyword_clauses and not query.semantic_text.strip() and text.strip():
            warnings.append("the query has no searchable words (only stop words, operators or filters)")
        return SearchResult(
            query, mode, hits, len(ordered), page, page_size,
            round((time.perf_counter() - t0) * 1000, 1),
            dict(sorted(sources_count.items(), key=lambda kv: -kv[1])), dict(sorted(years.items())), warnings,
            (round(weights[0], 4), round(weights[1], 4)),
        )

    def _constrain(self, query: ParsedQuery, filters: Filters, fused: dict[str, float]) -> dict[str, float]:
        """Apply exclusions and required clauses (+word, "phrase") to every channel's hits, by
        asking the store which candidates match them: semantic hits obey -word too."""
        if not fused:
            return fused
        ids = tuple(fused)
        scoped = Filters(filters.sources, filters.date_from, filters.date_to, ids)
        if query.excluded:
            banned = ParsedQuery(raw="", groups=[list(query.excluded)])
            drop = {h.article_id for h in self.store.keyword(banned, scoped, len(ids))}
            fused = {d: s for d, s in fused.items() if d not in drop}
        required = [g for g in query.groups if len(g) == 1 and g[0].required]
        if required and fused:
            must = ParsedQuery(raw="", groups=required)
            keep = {h.article_id for h in self.store.keyword(must, scoped, len(ids))}
            fused = {d: s for d, s in fused.items() if d in keep}
        return fused

    def _hit(self, a: Article, fused: float, kw: tuple[int, float] | None, sem: tuple[int, SemanticHit] | None,
             query: ParsedQuery) -> Hit:
        title_html = highlight_all(a.title, query, self.analyzer)
        body_html, matches = snippet(a.body, query, analyzer=self.analyzer)
        passage = Passage(a.id, sem[1].n, sem[1].start, sem[1].end, a.body[sem[1].start : sem[1].end]) if sem else None
        if matches == 0 and passage is not None:
            words = passage.text.split()
            body_html = html.escape(" ".join(words[:60])) + (" …" if len(words) > 60 else "")
        return Hit(
            article=a, fused_score=round(fused, 6),
            keyword_rank=kw[0] if kw else None, keyword_score=round(kw[1], 4) if kw else None,
            semantic_rank=sem[0] if sem else None,
            semantic_score=round(sem[1].score, 4) if sem else None,
            passage=passage, title_html=title_html, snippet_html=body_html, matched_words=matches,
        )

    def article(self, article_id: str, text: str = "") -> tuple[Article, str, str] | None:
        """(article, title HTML, body HTML) with the query's matches marked; None if unknown."""
        a = self.store.get([article_id]).get(article_id)
        if a is None:
            return None
        query = parse(text, self.analyzer)
        return a, highlight_all(a.title, query, self.analyzer), highlight_all(a.body, query, self.analyzer)

    def similar(self, article_id: str, limit: int = 5) -> list[tuple[Article, float]]:
        """Vector neighbours of an article (mean of its passage vectors)."""
        hits = self.store.neighbours(article_id, limit)
        found = self.store.get([h.article_id for h in hits])
        return [(found[h.article_id], round(h.score, 4)) for h in live_hits(hits, found)]
