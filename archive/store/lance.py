"""LanceDB: the embedded default store (DESIGN.md decision 4).

Layout in ``<data-dir>/lancedb``:
  articles  one row per article: originals, pre-analyzed term fields (FTS, whitespace
            tokenizer, no English stemming/stop words/lowercasing/folding), content hash
  passages  one row per passage: body offsets, vector, copies of source/date for prefilters
  vocab     distinct exact terms, for prefix* expansion
  meta.json model, dimension, analysis and schema versions

Crash safety without cross-table transactions: passages are keyed by (article, content hash)
and written first; the ``articles`` row is the commit point; stale passages are deleted after.
Readers join semantic hits on the article's current hash, so a kill at any point shows either
the old or the new article, whole.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from archive.model import Article, Passage
from archive.query import Clause, ParsedQuery
from archive.store.base import (
    PREFIX_EXPANSIONS,
    SCHEMA_VERSION,
    TITLE_BOOST,
    Filters,
    IndexedArticle,
    IndexMismatch,
    KeywordHit,
    SemanticHit,
    StoreEmpty,
    StoreError,
    StoreInfo,
)

ANN_MIN_ROWS = 20_000  # below this, exact search over all vectors is faster than an index
_FTS = dict(base_tokenizer="whitespace", lower_case=False, stem=False, remove_stop_words=False,
            ascii_folding=False, max_token_length=None)


def _sql(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(_sql(v) for v in values)})"


def _where(filters: Filters) -> str | None:
    parts = []
    if filters.ids:
        parts.append(_in("id", filters.ids))
    if filters.sources:
        parts.append(_in("source", filters.sources))
    if filters.date_from:
        parts.append(f"published_at >= TIMESTAMP '{filters.date_from.isoformat()} 00:00:00'")
    if filters.date_to:
        parts.append(f"published_at < TIMESTAMP '{(filters.date_to + timedelta(days=1)).isoformat()} 00:00:00'")
    return " AND ".join(parts) or None


class LanceStore:
    """The embedded store. ``read_only`` opens without ever creating or writing anything."""

    backend = "lancedb"

    def __init__(self, path: Path, read_only: bool = False) -> None:
        import lancedb

        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise StoreEmpty(f"no index at {self.path}: run the indexer first")
        try:
            self._db = lancedb.connect(str(self.path), read_consistency_interval=timedelta(seconds=1))
        except Exception as exc:  # lancedb raises plain ValueError/OSError subclasses
            raise StoreError(f"cannot open the LanceDB store at {self.path}: {exc}") from exc
        self._tables: dict[str, Any] = {}
        self._ready = False  # tables and indices exist (checked once per store object)
        self._meta_path = self.path / "meta.json"

    # ------------------------------------------------------------------ tables and meta
    def _table(self, name: str) -> Any | None:
        if name not in self._tables:
            if name not in self._db.table_names():
                return None
            self._tables[name] = self._db.open_table(name)
        return self._tables[name]

    def _require(self, name: str) -> Any:
        table = self._table(name)
        if table is None:
            raise StoreEmpty(f"the index at {self.path} is empty: run the indexer first")
        return table

    def meta(self) -> dict:
        try:
            return json.loads(self._meta_path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"unreadable {self._meta_path}: {exc}") from exc

    def check_compatible(self, model: str, dim: int, analysis_version: str) -> None:
        meta = self.meta()
        wanted = {"model": model, "dim": dim, "analysis_version": analysis_version, "schema_version": SCHEMA_VERSION}
        if not meta:
            if self.read_only:
                raise StoreEmpty(f"no index at {self.path}: run the indexer first")
            self.path.mkdir(parents=True, exist_ok=True)
            tmp = self._meta_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(wanted, indent=2))
            os.replace(tmp, self._meta_path)
            return
        diff = [f"{k}: index has {meta.get(k)!r}, now {v!r}" for k, v in wanted.items() if meta.get(k) != v]
        if diff:
            raise IndexMismatch(
                f"the index at {self.path} was built differently ({'; '.join(diff)}); "
                "rebuild it into a new --data-dir (mixing would give wrong results)"
            )

    @staticmethod
    def _schemas(dim: int) -> dict[str, pa.Schema]:
        ts = pa.timestamp("us")
        return {
            "articles": pa.schema([
                ("id", pa.string()), ("title", pa.string()), ("body", pa.string()),
                ("published_at", ts), ("year", pa.int32()), ("source", pa.string()),
                ("url", pa.string()), ("path", pa.string()), ("content_hash", pa.string()),
                ("stem", pa.string()), ("exact", pa.string()), ("title_stem", pa.string()),
                ("n_passages", pa.int32()), ("indexed_at", ts),
            ]),
            "passages": pa.schema([
                ("pid", pa.string()), ("article_id", pa.string()), ("content_hash", pa.string()),
                ("n", pa.int32()), ("start", pa.int32()), ("end", pa.int32()), ("text", pa.string()),
                ("source", pa.string()), ("published_at", ts), ("year", pa.int32()),
                ("vector", pa.list_(pa.float32(), dim)),
            ]),
            "vocab": pa.schema([("term", pa.string())]),
        }

    def _ensure_tables(self, dim: int) -> None:
        if self._ready:
            return
        for name, schema in self._schemas(dim).items():
            if self._table(name) is None:
                self._tables[name] = self._db.create_table(name, schema=schema, exist_ok=True)
        articles = self._tables["articles"]
        have = {i.name for i in articles.list_indices()}
        for column, extra in (("stem", {}), ("title_stem", {}), ("exact", {"with_position": True})):
            if f"{column}_idx" not in have:
                from lancedb.index import FTS

                articles.create_index(column, config=FTS(**_FTS, **extra))
        for table, column in ((articles, "id"), (self._tables["passages"], "article_id"), (self._tables["vocab"], "term")):
            if f"{column}_idx" not in {i.name for i in table.list_indices()}:
                table.create_scalar_index(column)
        self._ready = True

    # ------------------------------------------------------------------ writes
    def upsert(self, batch: Sequence[IndexedArticle]) -> None:
        if self.read_only:
            raise StoreError("this store was opened read-only")
        if not batch:
            return
        dim = int(batch[0].vectors.shape[1])
        self._ensure_tables(dim)
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        prow: list[dict] = []
        arow: list[dict] = []
        terms: set[str] = set()
        for item in batch:
            a = item.article
            year = a.published_at.year if a.published_at else None
            for p, vec in zip(item.passages, item.vectors):
                prow.append({
                    "pid": f"{a.id}:{a.content_hash}:{p.n}", "article_id": a.id,
                    "content_hash": a.content_hash, "n": p.n, "start": p.start, "end": p.end,
                    "text": p.text, "source": a.source, "published_at": a.published_at,
                    "year": year, "vector": vec.astype(np.float32).tolist(),
                })
            arow.append({
                "id": a.id, "title": a.title, "body": a.body, "published_at": a.published_at,
                "year": year, "source": a.source, "url": a.url, "path": a.path,
                "content_hash": a.content_hash, "stem": item.stem, "exact": item.exact,
                "title_stem": item.title_stem, "n_passages": len(item.passages), "indexed_at": now,
            })
            terms.update(item.exact.split())
        schemas = self._schemas(dim)
        passages, articles, vocab = self._tables["passages"], self._tables["articles"], self._tables["vocab"]
        try:
            # 0. new terms for prefix*, before the articles using them (a crash leaves unused terms)
            if terms:
                (vocab.merge_insert("term").when_not_matched_insert_all()
                 .execute(pa.Table.from_pylist([{"term": t} for t in sorted(terms)], schema=schemas["vocab"])))
            # 1. new passages (keyed by content hash: the live article still points to the old ones)
            (passages.merge_insert("pid").when_matched_update_all().when_not_matched_insert_all()
             .execute(pa.Table.from_pylist(prow, schema=schemas["passages"])))
            # 2. the commit point: one atomic write of every article row of the batch
            (articles.merge_insert("id").when_matched_update_all().when_not_matched_insert_all()
             .execute(pa.Table.from_pylist(arow, schema=schemas["articles"])))
            # 3. passages of the previous versions
            keep = " OR ".join(
                f"(article_id = {_sql(i.article.id)} AND content_hash <> {_sql(i.article.content_hash)})" for i in batch
            )
            passages.delete(keep)
        except OSError as exc:
            raise StoreError(f"writing to {self.path} failed: {exc}") from exc

    def delete(self, ids: Sequence[str]) -> int:
        articles = self._table("articles")
        if articles is None or not ids:
            return 0
        n = articles.count_rows(_in("id", ids))
        articles.delete(_in("id", ids))  # commit point; passages follow
        self._require("passages").delete(_in("article_id", ids))
        return n

    def optimize(self) -> None:
        """Compact, fold new rows into the FTS indices, and build the ANN index once it pays."""
        for name in ("articles", "passages", "vocab"):
            table = self._table(name)
            if table is not None:
                table.optimize()
        passages = self._table("passages")
        if passages is not None and passages.count_rows() >= ANN_MIN_ROWS:
            if "vector_idx" not in {i.name for i in passages.list_indices()}:
                passages.create_index(metric="cosine", vector_column_name="vector", index_type="IVF_HNSW_SQ")

    # ------------------------------------------------------------------ reads
    def get(self, ids: Sequence[str]) -> dict[str, Article]:
        articles = self._table("articles")
        if articles is None or not ids:
            return {}
        rows = (articles.search().where(_in("id", ids))
                .select(["id", "title", "body", "published_at", "source", "url", "path", "content_hash"])
                .limit(len(ids)).to_list())
        return {r["id"]: Article(r["id"], r["title"], r["body"], r["published_at"], r["source"], r["url"], r["path"], r["content_hash"]) for r in rows}

    def hashes(self) -> dict[str, tuple[str, str]]:
        articles = self._table("articles")
        if articles is None:
            return {}
        t = self._columns(articles, ["id", "content_hash", "path"])
        return {i: (h, p) for i, h, p in zip(t["id"].to_pylist(), t["content_hash"].to_pylist(), t["path"].to_pylist())}

    @staticmethod
    def _columns(table: Any, columns: list[str]) -> pa.Table:
        """Whole columns of a table without reading the others (no pylance needed)."""
        return table.search().select(columns).limit(max(1, table.count_rows())).to_arrow()

    def _expand_prefix(self, prefix: str) -> list[str]:
        vocab = self._table("vocab")
        if vocab is None or not prefix:
            return []
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = (vocab.search().where(f"term >= {_sql(prefix)} AND term < {_sql(upper)}")
                .select(["term"]).limit(PREFIX_EXPANSIONS).to_list())
        return [r["term"] for r in rows]

    def _clause(self, clause: Clause) -> Any | None:
        from lancedb.query import BooleanQuery, MatchQuery, Occur, PhraseQuery

        if clause.kind == "term":
            term = clause.terms[0]
            return BooleanQuery([(Occur.SHOULD, MatchQuery(term, "stem")),
                                 (Occur.SHOULD, MatchQuery(term, "title_stem", boost=TITLE_BOOST))])
        if clause.kind == "phrase":
            return PhraseQuery(" ".join(clause.terms), "exact")
        terms = self._expand_prefix(clause.terms[0])
        if not terms:
            return None
        return BooleanQuery([(Occur.SHOULD, MatchQuery(t, "exact")) for t in terms])

    def build_fts(self, query: ParsedQuery) -> Any | None:
        """The LanceDB full-text query for a parsed query; None when nothing can match."""
        from lancedb.query import BooleanQuery, Occur

        parts: list[tuple[Any, Any]] = []
        for group in query.groups:
            subs = [(c, self._clause(c)) for c in group]
            live = [q for _, q in subs if q is not None]
            if not live:
                if any(c.required for c in group):
                    return None  # a required clause that matches nothing
                continue
            required = len(group) == 1 and group[0].required
            node = live[0] if len(live) == 1 else BooleanQuery([(Occur.SHOULD, q) for q in live])
            parts.append((Occur.MUST if required else Occur.SHOULD, node))
        if not parts:
            return None
        for clause in query.excluded:
            node = self._clause(clause)
            if node is not None:
                parts.append((Occur.MUST_NOT, node))
        return BooleanQuery(parts)

    def keyword(self, query: ParsedQuery, filters: Filters, limit: int) -> list[KeywordHit]:
        articles = self._table("articles")
        if articles is None:
            return []
        fts = self.build_fts(query)
        if fts is None:
            return []
        search = articles.search(fts, query_type="fts").select(["id", "_score"])
        where = _where(filters)
        if where:
            search = search.where(where, prefilter=True)
        rows = search.limit(limit).to_list()
        return [KeywordHit(r["id"], float(r["_score"])) for r in rows]

    def browse(self, filters: Filters, limit: int) -> list[str]:
        """Ids of articles matching only filters, newest first (a query of filters alone)."""
        articles = self._table("articles")
        if articles is None:
            return []
        search = articles.search().select(["id", "published_at"])
        where = _where(filters)
        if where:
            search = search.where(where)
        rows = search.limit(max(1, articles.count_rows())).to_list()
        rows.sort(key=lambda r: (r["published_at"] is not None, r["published_at"] or dt.datetime.min), reverse=True)
        return [r["id"] for r in rows[:limit]]

    def _best_passages(self, rows: list[dict], limit: int, exclude: str | None = None) -> list[SemanticHit]:
        """Best passage per article among the passages of the article's live version (a stale
        passage left by an interrupted write never hides the live ones ranked below it)."""
        live = self._live_hashes(list({r["article_id"] for r in rows if r["article_id"] != exclude}))
        best: dict[str, dict] = {}
        for r in rows:
            aid = r["article_id"]
            if aid not in best and live.get(aid) == r["content_hash"]:
                best[aid] = r
        hits = [
            SemanticHit(aid, 1.0 - float(r["_distance"]), Passage(aid, r["n"], r["start"], r["end"], r["text"]))
            for aid, r in best.items()
        ]
        return hits[:limit]

    def _live_hashes(self, ids: list[str]) -> dict[str, str]:
        articles = self._table("articles")
        if articles is None or not ids:
            return {}
        rows = (articles.search().where(_in("id", ids))
                .select(["id", "content_hash"]).limit(len(ids)).to_list())
        return {r["id"]: r["content_hash"] for r in rows}

    def semantic(self, vector: np.ndarray, filters: Filters, limit: int) -> list[SemanticHit]:
        passages = self._table("passages")
        if passages is None:
            return []
        search = (passages.search(vector.astype(np.float32), vector_column_name="vector")
                  .distance_type("cosine").select(["article_id", "content_hash", "n", "start", "end", "text", "_distance"]))
        where = _where(filters)
        if where:
            search = search.where(where, prefilter=True)
        # several passages of one article may crowd the top: over-fetch, then keep the best each
        rows = search.limit(limit * 4).to_list()
        return self._best_passages(rows, limit)

    def neighbours(self, article_id: str, limit: int) -> list[SemanticHit]:
        passages = self._table("passages")
        if passages is None:
            return []
        own = passages.search().where(f"article_id = {_sql(article_id)}").select(["vector", "content_hash"]).to_list()
        live = self._live_hashes([article_id]).get(article_id)
        vecs = [np.asarray(r["vector"], dtype=np.float32) for r in own if r["content_hash"] == live]
        if not vecs:
            return []
        centroid = np.mean(vecs, axis=0)
        centroid /= np.linalg.norm(centroid) or 1.0
        rows = (passages.search(centroid, vector_column_name="vector").distance_type("cosine")
                .select(["article_id", "content_hash", "n", "start", "end", "text", "_distance"])
                .limit((limit + 1) * 4).to_list())
        return self._best_passages(rows, limit, exclude=article_id)

    def info(self) -> StoreInfo:
        meta = self.meta()
        articles, passages = self._table("articles"), self._table("passages")
        sources: dict[str, int] = {}
        years: dict[int, int] = {}
        if articles is not None:
            t = self._columns(articles, ["source", "year"])
            for s in t["source"].to_pylist():
                sources[s or ""] = sources.get(s or "", 0) + 1
            for y in t["year"].to_pylist():
                if y is not None:
                    years[y] = years.get(y, 0) + 1
        return StoreInfo(
            backend=self.backend, location=str(self.path),
            articles=articles.count_rows() if articles is not None else 0,
            passages=passages.count_rows() if passages is not None else 0,
            model=meta.get("model"), dim=meta.get("dim"),
            analysis_version=meta.get("analysis_version"), schema_version=meta.get("schema_version"),
            sources=dict(sorted(sources.items(), key=lambda kv: -kv[1])), years=dict(sorted(years.items())),
        )
