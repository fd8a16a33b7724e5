"""LanceDB: the embedded default store (docs/architecture.md decision 4).

Layout in ``<data-dir>/lancedb``:
  CURRENT      {"generation": "g0002"}: the generation readers use, replaced atomically
  g0001/ …     one directory per generation (a full rebuild writes a new one), holding:
    articles   one row per article: originals, pre-analyzed term fields (FTS, whitespace
               tokenizer, no English stemming/stop words/lowercasing/folding), content hash
    passages   one row per passage: body offsets, vector, copies of source/date for prefilters
    vocab      distinct exact terms (prefix* expansion) and marked stems (query-word lookup)
    meta.json  model, dimension, analysis and schema versions
  LOCK         the write lock (an OS file lock: released when its process dies, even by kill -9)
  jobs.jsonl   job history, one JSON record per line (a later line with the same id replaces)

Crash safety without cross-table transactions: passages are keyed by (article, content hash)
and written first; the ``articles`` row is the commit point; stale passages are deleted after.
Semantic hits carry their passage's content hash and the search service keeps those matching
the article's current hash (``search.live_hits``), so a kill at any point shows either the old
or the new article, whole.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import shutil
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from archive import stories
from archive.model import Article
from archive.query import Node
from archive.store.base import (
    SCHEMA_VERSION,
    STEM_MARK,
    SWITCHED,
    Background,
    Filters,
    Fingerprint,
    Generation,
    IndexedArticle,
    KeywordHit,
    SemanticHit,
    StoreEmpty,
    StoreError,
    StoreInfo,
    StoreLocked,
    Tally,
    day_after,
    mark_interrupted,
    require_compatible,
    switched_meta,
)
from archive.store.walk import build

BACKGROUND_SAMPLE = 20_000  # articles whose stems are the background of top terms, at most
ANN_MIN_ROWS = 20_000  # below this, exact search over all vectors is faster than an index
_FTS: dict[str, Any] = dict(
    base_tokenizer="whitespace", lower_case=False, stem=False, remove_stop_words=False, ascii_folding=False, max_token_length=None
)


def _sql(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(_sql(v) for v in values)})"


_TALLIED = ("source", "published_at")  # what a tally reads of each match


def _tally(rows: pa.Table) -> Tally:
    """Matched rows counted per source and per publication day."""
    sources = pc.value_counts(rows["source"].fill_null(""))
    days = pc.value_counts(pc.cast(rows["published_at"], pa.date32()).drop_null())
    return Tally(
        rows.num_rows,
        {v["values"].as_py(): v["counts"].as_py() for v in sources},
        {v["values"].as_py(): v["counts"].as_py() for v in days},
    )


def _newest_first(rows: pa.Table) -> np.ndarray:
    """Row positions by publication time, newest first, undated last (stable)."""
    stamps = pc.cast(rows["published_at"], pa.int64()).fill_null(np.iinfo(np.int64).min).to_numpy()
    return np.argsort(-stamps.astype(np.float64), kind="stable")


def _where(filters: Filters) -> str | None:
    parts = []
    if filters.ids:
        parts.append(_in("id", filters.ids))
    if filters.sources:
        parts.append(_in("source", filters.sources))
    if filters.date_from:
        parts.append(f"published_at >= TIMESTAMP '{filters.date_from.isoformat()} 00:00:00'")
    if filters.date_to:
        parts.append(f"published_at < TIMESTAMP '{day_after(filters.date_to).isoformat()} 00:00:00'")
    return " AND ".join(parts) or None


_GENERATION = re.compile(r"g(\d{4,})")
_LANCE_NOISE = re.compile(r"^(lance error: )?(LanceError\(\w+\): )?|,?\s*/\S+\.rs:\d+:\d+")  # wrappers, Rust source


def _reason(exc: Exception) -> str:
    """A LanceDB/OS error as one line a user can act on (e.g. 'No space left on device (os error
    28)'): LanceDB's messages carry error wrappers and the Rust source location."""
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return _LANCE_NOISE.sub("", text.strip().splitlines()[0] if text.strip() else type(exc).__name__)


class _LanceBuilder:
    """LanceDB's full-text queries for ``walk.build``."""

    def match(self, column: str, terms: Sequence[str], boost: float = 1.0) -> Any:
        from lancedb.query import MatchQuery

        match: Any = MatchQuery  # a pydantic dataclass: its defaults are invisible to mypy
        return match(" ".join(terms), column, boost=boost)  # analyzed terms hold no whitespace

    def phrase(self, column: str, terms: Sequence[str], slop: int) -> Any:
        from lancedb.query import PhraseQuery

        phrase: Any = PhraseQuery
        return phrase(" ".join(terms), column, slop=slop)

    def boolean(self, must: Sequence[Any], should: Sequence[Any], must_not: Sequence[Any]) -> Any:
        from lancedb.query import BooleanQuery, Occur

        return BooleanQuery(
            [*((Occur.MUST, q) for q in must), *((Occur.SHOULD, q) for q in should), *((Occur.MUST_NOT, q) for q in must_not)]
        )


_LANCE = _LanceBuilder()


@dataclass
class _Fresh:
    """What a build into empty tables has written (one writer: the lock), so that its batches
    append instead of merging by key: merge_insert was most of a 1M build's time. Any article
    seen twice ends it (the store merges from then on)."""

    ids: set[str] = field(default_factory=set)
    terms: set[str] = field(default_factory=set)


class LanceStore:
    """The embedded store over the generations under ``root``; reads follow ``CURRENT`` (a switch
    is seen by open readers), writes go to ``target`` when given (a generation being rebuilt).
    ``read_only`` opens without ever creating or writing anything."""

    backend = "lancedb"

    def __init__(self, root: Path, read_only: bool = False, target: str | None = None) -> None:
        self.root = Path(root)
        self.read_only = read_only
        self.target = target
        self._gen: str | None = None
        self._current_stamp: tuple[int, int] | None = None
        self._current_name: str | None = None
        self._db: Any = None
        self._tables: dict[str, Any] = {}
        self._ready = False  # tables and indices exist (checked once per generation)
        # a build into tables this store created empty: rows are appended, not merged (below)
        self._fresh: _Fresh | None = None
        self._stories: bool | None = None  # the generation stores stories (checked once per generation)
        self._background: tuple[tuple[str | None, int], Counter[str], int, int] | None = None  # frequencies' sample
        if read_only and self._bind() is None:
            raise StoreEmpty(f"no index at {self.root}: run the indexer first")

    # ------------------------------------------------------------------ generations
    @property
    def path(self) -> Path:
        """The directory of the generation this store reads and writes now."""
        return self.root / (self._bind() or "g0001")

    def _current(self) -> str | None:
        """The active generation named by ``CURRENT`` (re-read only when the file changes)."""
        pointer = self.root / "CURRENT"
        try:
            st = pointer.stat()
        except FileNotFoundError:
            self._current_stamp = self._current_name = None
            return None
        stamp = (st.st_mtime_ns, st.st_ino)
        if stamp != self._current_stamp:
            try:
                self._current_name = json.loads(pointer.read_text())["generation"]
            except (OSError, ValueError, KeyError) as exc:
                raise StoreError(f"unreadable {pointer}: {exc}") from exc
            self._current_stamp = stamp
        return self._current_name

    def _bind(self) -> str | None:
        """Follow the generation switch: reopen on the generation now in use."""
        name = self.target or self._current()
        if name != self._gen or (self._db is None and name is not None and (self.root / name).exists()):
            self._gen, self._tables, self._ready, self._db, self._stories = name, {}, False, None, None
            self._fresh = None
            if name is not None and (self.root / name).exists():
                import lancedb

                try:
                    self._db = lancedb.connect(str(self.root / name), read_consistency_interval=timedelta(seconds=1))
                except Exception as exc:  # lancedb raises plain ValueError/OSError subclasses
                    raise StoreError(f"cannot open the LanceDB store at {self.root / name}: {exc}") from exc
        return name

    def _write_pointer(self, name: str) -> None:
        tmp = self.root / "CURRENT.tmp"
        with open(tmp, "w") as f:
            json.dump({"generation": name}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / "CURRENT")
        dirfd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)

    def _write_meta(self, name: str, meta: dict) -> None:
        d = self.root / name
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / "meta.tmp"
        tmp.write_text(json.dumps(meta, indent=2))
        os.replace(tmp, d / "meta.json")

    def _numbered(self) -> dict[str, int]:
        """Directories named like a generation, with their numbers (stray ones included)."""
        if not self.root.exists():
            return {}
        return {d.name: int(m.group(1)) for d in self.root.iterdir() if (m := _GENERATION.fullmatch(d.name)) and d.is_dir()}

    def generations(self) -> list[Generation]:
        """The generations: directories with a ``meta.json`` (``new_generation`` writes it first;
        a stray ``gNNNN`` directory is not one, so it is never rolled back to or deleted)."""
        active = self._current()
        out = []
        for name, number in self._numbered().items():
            store = LanceStore(self.root, target=name, read_only=True)
            meta = store.meta()
            if not meta:
                continue
            articles = store._table("articles")  # noqa: SLF001 - same class
            out.append(Generation(name, number, name == active, articles.count_rows() if articles is not None else 0, meta))
        return sorted(out, key=lambda g: g.number)

    def _next_name(self) -> str:
        return f"g{max(self._numbered().values(), default=0) + 1:04d}"

    def _write_guard(self) -> None:
        if self.read_only:
            raise StoreError("this store was opened read-only")

    def new_generation(self, model: str, dim: int, analysis_version: str) -> LanceStore:
        self._write_guard()
        name = self._next_name()
        self._write_meta(
            name, {"model": model, "dim": dim, "analysis_version": analysis_version, "schema_version": SCHEMA_VERSION}
        )
        return LanceStore(self.root, target=name)

    def activate(self, name: str) -> None:
        self._write_guard()
        if not (self.root / name / "meta.json").exists():
            raise StoreError(f"no generation {name!r} in {self.root}")
        for gen in filter(None, (name, self._current())):  # the outgoing one too: readers saw it whole
            self._mark_switched(gen)
        self._write_pointer(name)

    def _mark_switched(self, name: str) -> None:
        """Record in ``name``'s meta that readers are switched to it (once)."""
        meta = LanceStore(self.root, target=name, read_only=True).meta()
        if meta and SWITCHED not in meta:
            self._write_meta(name, dict(meta, **switched_meta()))

    def drop(self, name: str) -> None:
        self._write_guard()
        if name == self._current():
            raise StoreError(f"{name} is the active generation of {self.root}; switch first")
        if not _GENERATION.fullmatch(name):
            raise StoreError(f"{name!r} is not a generation name")
        shutil.rmtree(self.root / name, ignore_errors=True)

    # ------------------------------------------------------------------ lock and job history
    @contextmanager
    def lock(self, job_id: str) -> Iterator[None]:
        self._write_guard()
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
                raise StoreLocked(f"another job is writing to {self.root} ({holder})") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"job {job_id}, pid {os.getpid()}, since {dt.datetime.now().isoformat(timespec='seconds')}".encode(), 0)
            yield
        finally:
            os.close(fd)  # closing releases the lock; so does the death of the process

    def _locked(self) -> bool:
        """Whether some process holds the write lock now."""
        try:
            fd = os.open(self.root / "LOCK", os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def record_job(self, record: dict) -> None:
        self._write_guard()
        self.root.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        with self._writing(self.root / "jobs.jsonl"):
            fd = os.open(self.root / "jobs.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)  # one O_APPEND write per record: concurrent writers never interleave
            finally:
                os.close(fd)

    def jobs(self, limit: int) -> list[dict]:
        try:
            lines = (self.root / "jobs.jsonl").read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        records: dict[str, dict] = {}
        for line in lines:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
            if isinstance(rec, dict) and "id" in rec:
                records.pop(rec["id"], None)
                records[rec["id"]] = rec
        out = sorted(reversed(records.values()), key=lambda r: str(r.get("started", "")), reverse=True)[:limit]
        return mark_interrupted(out, self._locked)

    # ------------------------------------------------------------------ tables and meta
    def _table(self, name: str) -> Any | None:
        self._bind()
        if self._db is None:
            return None
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
        name = self._bind()
        if name is None:
            return {}
        try:
            return json.loads((self.root / name / "meta.json").read_text())
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"unreadable meta.json in {self.root / name}: {exc}") from exc

    def check_compatible(self, model: str, dim: int, analysis_version: str) -> None:
        """On first use create generation g0001 and make it current; refuse another model."""
        meta = self.meta()
        wanted = {"model": model, "dim": dim, "analysis_version": analysis_version, "schema_version": SCHEMA_VERSION}
        if not meta:
            if self.read_only:
                raise StoreEmpty(f"no index at {self.root}: run the indexer first")
            name = self.target or self._next_name()
            self._write_meta(name, wanted if self.target else dict(wanted, **switched_meta()))
            if not self.target:
                self._write_pointer(name)
            self._bind()
            return
        require_compatible(
            meta,
            wanted,
            f"the index at {self.path}",
            "run a full rebuild (reindex --full) to build a new generation with this one",
        )

    @staticmethod
    def _schemas(dim: int) -> dict[str, pa.Schema]:
        ts = pa.timestamp("us")
        return {
            "articles": pa.schema(
                [
                    ("id", pa.string()),
                    ("title", pa.string()),
                    ("body", pa.string()),
                    ("published_at", ts),
                    ("year", pa.int32()),
                    ("source", pa.string()),
                    ("url", pa.string()),
                    ("path", pa.string()),
                    ("content_hash", pa.string()),
                    ("stem", pa.string()),
                    ("exact", pa.string()),
                    ("title_stem", pa.string()),
                    ("n_passages", pa.int32()),
                    ("indexed_at", ts),
                    ("story", pa.string()),
                    ("bands", pa.list_(pa.string())),
                    ("signature", pa.binary()),
                ]
            ),
            "passages": pa.schema(
                [
                    ("pid", pa.string()),
                    ("article_id", pa.string()),
                    ("content_hash", pa.string()),
                    ("n", pa.int32()),
                    ("start", pa.int32()),
                    ("end", pa.int32()),
                    ("text", pa.string()),
                    ("source", pa.string()),
                    ("published_at", ts),
                    ("year", pa.int32()),
                    ("vector", pa.list_(pa.float32(), dim)),
                ]
            ),
            "vocab": pa.schema([("term", pa.string())]),
        }

    def _ensure_tables(self, dim: int) -> None:
        """Create the tables on first write. Into empty tables, writes append (``_Fresh``); in a
        new generation, which no reader sees before ``activate``, the indices are built once, by
        ``optimize`` at the end, instead of being kept up to date from the start."""
        self._bind()
        if self._ready:
            return
        if self._db is None:
            raise StoreError(f"no generation to write to in {self.root}: call check_compatible first")
        for name, schema in self._schemas(dim).items():
            if self._table(name) is None:
                self._tables[name] = self._db.create_table(name, schema=schema, exist_ok=True)
        if all(self._tables[name].count_rows() == 0 for name in ("articles", "passages")):
            vocab = self._tables["vocab"]  # terms a killed first run wrote before any article
            self._fresh = _Fresh(terms=set(self._columns(vocab, ["term"])["term"].to_pylist()) if vocab.count_rows() else set())
        if self._fresh is None or self.target is None:
            self._ensure_indices()
        self._ready = True

    def _ensure_indices(self) -> None:
        """The full-text, scalar and label indices the reads use, where missing."""
        articles = self._tables["articles"]
        have = {i.name for i in articles.list_indices()}
        positions: dict[str, dict[str, Any]] = {
            "stem": {},
            "title_stem": {"with_position": True},
            "exact": {"with_position": True},
        }
        for column, extra in positions.items():
            if f"{column}_idx" not in have:
                from lancedb.index import FTS

                articles.create_index(column, config=FTS(**_FTS, **extra))
        for table, column in ((articles, "id"), (self._tables["passages"], "article_id"), (self._tables["vocab"], "term")):
            if f"{column}_idx" not in {i.name for i in table.list_indices()}:
                table.create_scalar_index(column)
        if "bands_idx" not in have:
            articles.create_scalar_index("bands", index_type="LABEL_LIST")

    # ------------------------------------------------------------------ writes
    @contextmanager
    def _writing(self, where: Path | None = None) -> Iterator[None]:
        """Write failures as one-line ``StoreError``s naming ``where`` (default: the generation):
        a full disk raises RuntimeError (not OSError) from inside LanceDB, which ended jobs with
        a raw traceback."""
        try:
            yield
        except StoreError:
            raise
        except (OSError, RuntimeError) as exc:
            raise StoreError(f"writing to {where or self.path} failed: {_reason(exc)}") from exc

    def upsert(self, batch: Sequence[IndexedArticle]) -> None:
        self._write_guard()
        if not batch:
            return
        with self._writing():
            self._upsert(batch)

    def _upsert(self, batch: Sequence[IndexedArticle]) -> None:
        dim = int(batch[0].vectors.shape[1])
        self._ensure_tables(dim)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        prow: list[dict] = []
        arow: list[dict] = []
        terms: set[str] = set()
        for item in batch:
            a = item.article
            year = a.published_at.year if a.published_at else None
            for p, vec in zip(item.passages, item.vectors, strict=False):
                prow.append(
                    {
                        "pid": f"{a.id}:{a.content_hash}:{p.n}",
                        "article_id": a.id,
                        "content_hash": a.content_hash,
                        "n": p.n,
                        "start": p.start,
                        "end": p.end,
                        "text": p.text,
                        "source": a.source,
                        "published_at": a.published_at,
                        "year": year,
                        "vector": vec.astype(np.float32).tolist(),
                    }
                )
            arow.append(
                {
                    "id": a.id,
                    "title": a.title,
                    "body": a.body,
                    "published_at": a.published_at,
                    "year": year,
                    "source": a.source,
                    "url": a.url,
                    "path": a.path,
                    "content_hash": a.content_hash,
                    "stem": item.stem,
                    "exact": item.exact,
                    "title_stem": item.title_stem,
                    "n_passages": len(item.passages),
                    "indexed_at": now,
                    "story": item.story or a.id,
                    "bands": stories.bands(item.signature),
                    "signature": item.signature.astype("<u4").tobytes() if item.signature is not None else None,
                }
            )
            terms.update(item.vocabulary())
        schemas = self._schemas(dim)
        passages, articles, vocab = self._tables["passages"], self._tables["articles"], self._tables["vocab"]
        fresh = self._fresh
        if fresh is not None and not fresh.ids.isdisjoint(r["id"] for r in arow):
            self._fresh = fresh = None  # an article written twice in one build: merge from now on
        if fresh is not None:
            # every row is new: plain appends, in the same order (terms, passages, then the
            # articles as the commit point); no earlier version has passages to delete
            if new_terms := sorted(terms - fresh.terms):
                vocab.add(pa.Table.from_pylist([{"term": t} for t in new_terms], schema=schemas["vocab"]))
            passages.add(pa.Table.from_pylist(prow, schema=schemas["passages"]))
            articles.add(pa.Table.from_pylist(arow, schema=schemas["articles"]))
            fresh.terms.update(new_terms)
            fresh.ids.update(r["id"] for r in arow)
            return
        # 0. new terms for prefix*, before the articles using them (a crash leaves unused terms)
        if terms:
            (
                vocab.merge_insert("term")
                .when_not_matched_insert_all()
                .execute(pa.Table.from_pylist([{"term": t} for t in sorted(terms)], schema=schemas["vocab"]))
            )
        # 1. new passages (keyed by content hash: the live article still points to the old ones)
        (
            passages.merge_insert("pid")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(pa.Table.from_pylist(prow, schema=schemas["passages"]))
        )
        # 2. the commit point: one atomic write of every article row of the batch
        (
            articles.merge_insert("id")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(pa.Table.from_pylist(arow, schema=schemas["articles"]))
        )
        # 3. passages of the previous versions
        keep = " OR ".join(
            f"(article_id = {_sql(i.article.id)} AND content_hash <> {_sql(i.article.content_hash)})" for i in batch
        )
        passages.delete(keep)

    def delete(self, ids: Sequence[str]) -> int:
        self._write_guard()
        articles = self._table("articles")
        if articles is None or not ids:
            return 0
        with self._writing():
            n = articles.count_rows(_in("id", ids))
            articles.delete(_in("id", ids))  # commit point; passages follow
            self._require("passages").delete(_in("article_id", ids))
        return n

    def optimize(self) -> None:
        """Sweep passages no live article points to, compact, fold new rows into the FTS
        indices (or build them, after a new generation's build), and build the ANN index once it
        pays. A new generation drops its tables' old versions at once: nobody reads them (each
        write of the build left one; a 1M build kept 1.3 GB of them beside 0.5 GB of data),
        while an index in use keeps them for LanceDB's default week, for readers still on one."""
        with self._writing():
            if not self.read_only:
                self._sweep()
            built = self.target is not None and self._fresh is not None and not self.read_only
            if built and all(name in self._tables for name in ("articles", "passages", "vocab")):
                self._ensure_indices()
            for name in ("articles", "passages", "vocab"):
                table = self._table(name)
                if table is not None and built:  # the writer lock is held: no other transaction is open
                    with warnings.catch_warnings():  # "removes every version except the latest": meant
                        warnings.simplefilter("ignore", UserWarning)
                        table.optimize(cleanup_older_than=timedelta(0), delete_unverified=True)
                elif table is not None:
                    table.optimize()
            passages = self._table("passages")
            if passages is not None and passages.count_rows() >= ANN_MIN_ROWS:
                if "vector_idx" not in {i.name for i in passages.list_indices()}:
                    passages.create_index(metric="cosine", vector_column_name="vector", index_type="IVF_HNSW_SQ")

    def _sweep(self) -> int:
        """Delete passages of versions that are not live: those a killed write left behind
        (new passages never committed, or old ones not yet deleted). Readers ignore them
        already; this keeps counts true and the table small."""
        articles, passages = self._table("articles"), self._table("passages")
        if articles is None or passages is None:
            return 0
        a = self._columns(articles, ["id", "content_hash"])
        live = set(zip(a["id"].to_pylist(), a["content_hash"].to_pylist(), strict=False))
        p = self._columns(passages, ["pid", "article_id", "content_hash"])
        stale = [
            pid
            for pid, aid, h in zip(p["pid"].to_pylist(), p["article_id"].to_pylist(), p["content_hash"].to_pylist(), strict=False)
            if (aid, h) not in live
        ]
        for i in range(0, len(stale), 500):
            passages.delete(_in("pid", stale[i : i + 500]))
        return len(stale)

    # ------------------------------------------------------------------ reads
    def get(self, ids: Sequence[str], text: bool = True) -> dict[str, Article]:
        articles = self._table("articles")
        if articles is None or not ids:
            return {}
        columns = ["id", "published_at", "source", "url", "path", "content_hash"] + (["title", "body"] if text else [])
        if self._grouped(articles):
            columns.append("story")
        rows = articles.search().where(_in("id", ids)).select(columns).limit(len(ids)).to_list()
        return {
            r["id"]: Article(
                r["id"],
                r.get("title", ""),
                r.get("body", ""),
                r["published_at"],
                r["source"],
                r["url"],
                r["path"],
                r["content_hash"],
                r.get("story") or "",
            )
            for r in rows
        }

    def _grouped(self, articles: Any) -> bool:
        """Whether the generation stores stories (schema 3 on): an older one is still read, ungrouped."""
        if self._stories is None:
            self._stories = "story" in articles.schema.names
        return self._stories

    def fingerprints(self, bands: Sequence[str]) -> list[Fingerprint]:
        articles = self._table("articles")
        if articles is None or not bands or not self._grouped(articles):
            return []
        found: dict[str, Fingerprint] = {}
        for i in range(0, len(bands), 16_384):  # a batch's keys in one query: each query scans the bands once
            keys = ", ".join(_sql(b) for b in bands[i : i + 16_384])
            rows = (
                articles.search()
                .where(f"array_has_any(bands, make_array({keys}))")
                .select(["id", "story", "signature"])
                .limit(max(1, articles.count_rows()))
                .to_list()
            )
            found.update(
                (r["id"], Fingerprint(r["id"], r["story"] or r["id"], np.frombuffer(r["signature"], dtype="<u4")))
                for r in rows
                if r["signature"]
            )
        return list(found.values())

    def hashes(self) -> dict[str, tuple[str, str]]:
        articles = self._table("articles")
        if articles is None:
            return {}
        t = self._columns(articles, ["id", "content_hash", "path"])
        return {
            i: (h, p) for i, h, p in zip(t["id"].to_pylist(), t["content_hash"].to_pylist(), t["path"].to_pylist(), strict=False)
        }

    @staticmethod
    def _columns(table: Any, columns: list[str]) -> pa.Table:
        """Whole columns of a table without reading the others (no pylance needed)."""
        return table.search().select(columns).limit(max(1, table.count_rows())).to_arrow()

    def known_terms(self, terms: Sequence[str]) -> set[str]:
        vocab = self._table("vocab")
        if vocab is None or not terms:
            return set()
        rows = vocab.search().where(_in("term", terms)).select(["term"]).limit(len(terms)).to_list()
        return {r["term"] for r in rows}

    def stems(self, ids: Sequence[str]) -> dict[str, set[str]]:
        articles = self._table("articles")
        if articles is None or not ids:
            return {}
        rows = articles.search().where(_in("id", ids)).select(["id", "stem"]).limit(len(ids)).to_arrow()
        return {i: set(s.split()) for i, s in zip(rows["id"].to_pylist(), rows["stem"].to_pylist(), strict=False)}

    def frequencies(self, stems: Sequence[str]) -> Background:
        """Counted over at most ``BACKGROUND_SAMPLE`` articles (a uniform sample past that, the
        same one until the archive changes): LanceDB's full-text index does not give document
        frequencies, and one count per stem is a full-text pass each."""
        articles = self._table("articles")
        if articles is None:
            return Background({s: 0 for s in stems}, 0, 0)
        key = (self._gen, articles.version)
        if self._background is None or self._background[0] != key:
            n = articles.count_rows()
            if n <= BACKGROUND_SAMPLE:
                rows = self._columns(articles, ["stem"])
            else:
                picked = np.random.default_rng(n).choice(n, BACKGROUND_SAMPLE, replace=False)
                rows = articles.take_offsets(sorted(int(i) for i in picked)).select(["stem"]).to_arrow()
            counts: Counter[str] = Counter()
            for text in rows["stem"].to_pylist():
                counts.update(set(text.split()))
            self._background = (key, counts, rows.num_rows, n)
        _, counts, counted, n = self._background
        return Background({s: counts.get(s, 0) for s in stems}, counted, n)

    def expand(self, prefix: str, limit: int) -> list[str]:
        vocab = self._table("vocab")
        if vocab is None or not prefix:
            return []
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = vocab.search().where(f"term >= {_sql(prefix)} AND term < {_sql(upper)}").select(["term"]).limit(limit).to_list()
        return sorted(r["term"] for r in rows)

    def near(self, entry: str, distance: int, limit: int) -> list[str]:
        """Marked stems (fuzzy words expand over stems only) whose length is within ``distance``."""
        vocab = self._table("vocab")
        if vocab is None or not entry:
            return []
        kind = f"term >= {_sql(STEM_MARK)} AND term < {_sql(chr(ord(STEM_MARK) + 1))}"
        n = len(entry)
        rows = (
            vocab.search()
            .where(f"{kind} AND char_length(term) BETWEEN {n - distance} AND {n + distance}")
            .select(["term"])
            .limit(limit)
            .to_list()
        )
        return [r["term"] for r in rows]

    def build_fts(self, tree: Node | None) -> Any | None:
        """The LanceDB full-text query for an expanded query tree; None when nothing can match."""
        return build(tree, _LANCE) if tree is not None else None

    def keyword(self, tree: Node | None, filters: Filters, limit: int) -> list[KeywordHit]:
        articles = self._table("articles")
        if articles is None:
            return []
        fts = self.build_fts(tree)
        if fts is None:
            return []
        search = articles.search(fts, query_type="fts").select(["id", "_score"])
        where = _where(filters)
        if where:
            search = search.where(where, prefilter=True)
        rows = search.limit(limit).to_list()
        return [KeywordHit(r["id"], float(r["_score"])) for r in rows]

    def ranked(self, tree: Node | None, filters: Filters, limit: int) -> tuple[list[KeywordHit], Tally]:
        rows = self._matches(tree, filters, ["id", "_score", *_TALLIED]) if tree is not None else None
        if rows is None:
            return [], Tally()
        # every match's id and score, ranked here: the top k of an unlimited query is what
        # LanceDB computes anyway when the matches must be counted (ids, not row ids: a row
        # address taken back later could point elsewhere after a compaction in between)
        scores = rows["_score"].to_numpy()
        top = np.argsort(-scores, kind="stable")[:limit]
        ids = rows["id"].take(pa.array(top)).to_pylist()
        return [KeywordHit(i, float(s)) for i, s in zip(ids, scores[top], strict=False)], _tally(rows)

    def tally(self, tree: Node | None, filters: Filters) -> Tally:
        rows = self._matches(tree, filters, list(_TALLIED))
        return Tally() if rows is None else _tally(rows)

    def _matches(self, tree: Node | None, filters: Filters, columns: list[str]) -> pa.Table | None:
        """``columns`` of every article the tree matches under the filters (no tree: that the
        filters select); None when nothing can match."""
        articles = self._table("articles")
        fts = self.build_fts(tree) if articles is not None and tree is not None else None
        if articles is None or (tree is not None and fts is None):
            return None
        where = _where(filters)
        search = articles.search(fts, query_type="fts") if fts is not None else articles.search()
        wanted = [c for c in columns if c != "_score"]
        search = search.select(wanted + ["_score"] if fts is not None else wanted)  # FTS adds a score anyway
        if where:
            search = search.where(where, prefilter=True) if fts is not None else search.where(where)
        return search.limit(max(1, articles.count_rows())).to_arrow()

    def browse(self, filters: Filters, limit: int) -> list[str]:
        """Ids of articles matching only filters, newest first (a query of filters alone)."""
        rows = self._matches(None, filters, ["id", "published_at"])
        return [] if rows is None else rows["id"].take(pa.array(_newest_first(rows)[:limit])).to_pylist()

    def stream(self, tree: Node | None, filters: Filters, batch: int, newest: bool = False) -> Iterator[list[KeywordHit]]:
        rows = self._matches(tree, filters, ["id", "_score", "published_at"])
        if rows is None:
            return
        scores = rows["_score"].to_numpy() if tree is not None else np.zeros(rows.num_rows)
        order = _newest_first(rows) if newest or tree is None else np.argsort(-scores, kind="stable")
        for i in range(0, len(order), batch):  # ids and scores of every match are held; articles are not
            part = order[i : i + batch]
            yield [
                KeywordHit(a, float(b)) for a, b in zip(rows["id"].take(pa.array(part)).to_pylist(), scores[part], strict=False)
            ]

    @staticmethod
    def _best_passages(rows: pa.Table, limit: int, exclude: str | None = None) -> list[SemanticHit]:
        """Best passage per article version, in distance order. Versions are kept apart so a
        stale passage (an interrupted write) never hides the live version's passages below it."""
        best: dict[tuple[str, str], SemanticHit] = {}
        cols = [rows[c].to_pylist() for c in ("article_id", "content_hash", "n", "start", "end", "_distance")]
        for aid, h, n, start, end, dist in zip(*cols, strict=False):
            if aid != exclude and (aid, h) not in best:
                best[aid, h] = SemanticHit(aid, 1.0 - float(dist), h, n, start, end)
                if len(best) == limit:
                    break
        return list(best.values())

    def _vector_search(self, vector: np.ndarray, limit: int, where: str | None = None) -> pa.Table:
        passages = self._require("passages")
        search = (
            passages.search(vector.astype(np.float32), vector_column_name="vector")
            .distance_type("cosine")
            .select(["article_id", "content_hash", "n", "start", "end", "_distance"])
        )
        if where:
            search = search.where(where, prefilter=True)
        # several passages of one article may crowd the top: over-fetch, then keep the best each
        return search.limit(limit * 4).to_arrow()

    def semantic(self, vector: np.ndarray, filters: Filters, limit: int) -> list[SemanticHit]:
        if self._table("passages") is None:
            return []
        return self._best_passages(self._vector_search(vector, limit, _where(filters)), limit)

    def neighbours(self, article_id: str, limit: int) -> list[SemanticHit]:
        passages = self._table("passages")
        live = self.get([article_id], text=False).get(article_id)
        if passages is None or live is None:
            return []
        own = (
            passages.search()
            .where(f"article_id = {_sql(article_id)} AND content_hash = {_sql(live.content_hash)}")
            .select(["vector"])
            .to_arrow()
        )
        if not own.num_rows:
            return []
        centroid = np.asarray(own["vector"].to_pylist(), dtype=np.float32).mean(axis=0)
        centroid /= np.linalg.norm(centroid) or 1.0
        return self._best_passages(self._vector_search(centroid, limit + 1), limit, exclude=article_id)

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
            backend=self.backend,
            location=str(self.path),
            articles=articles.count_rows() if articles is not None else 0,
            passages=passages.count_rows() if passages is not None else 0,
            model=meta.get("model"),
            dim=meta.get("dim"),
            analysis_version=meta.get("analysis_version"),
            schema_version=meta.get("schema_version"),
            sources=dict(sorted(sources.items(), key=lambda kv: -kv[1])),
            years=dict(sorted(years.items())),
        )
