"""The write path: sources -> articles -> analysis -> passages -> embeddings -> store.

Incremental by content hash: an article whose hash is already stored costs no analysis and no
embedding. Bad input is reported per file and never stops the run; each batch is written
atomically, so an interrupted run loses at most the batch in flight, which the next run redoes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from archive import stories
from archive.analysis import ANALYSIS_VERSION, Analyzer, default_analyzer
from archive.config import DEFAULT_BATCH
from archive.embeddings import Embedder
from archive.ingest import Notice, Rejected, iter_articles, passages
from archive.model import Article
from archive.store.base import IndexedArticle, PartialWrite, Store


@dataclass(kw_only=True)
class Counts:
    """What a run did to the index, kept alike by a run's report and its job record."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    passages: int = 0


@dataclass
class IndexReport(Counts):
    """What a run did; ``errors`` name each bad file/line."""

    errors: list[Rejected] = field(default_factory=list)
    notes: list[Notice] = field(default_factory=list)
    seconds: float = 0.0
    seen: set[str] = field(default_factory=set, repr=False)  # ids read from the sources

    @property
    def failed(self) -> int:
        return len(self.errors)

    def as_dict(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "passages": self.passages,
            "seconds": round(self.seconds, 2),
            "errors": [str(e) for e in self.errors],
            "notes": [str(n) for n in self.notes],
        }


def prepare(article: Article, vectors: np.ndarray | None = None, analyzer: Analyzer | None = None) -> IndexedArticle:
    """Analyze an article into its stored term fields and passages (vectors added later)."""
    an = analyzer or default_analyzer()
    tokens = an.analyze(article.text)
    title_tokens = [t for t in tokens if t.end <= len(article.title)]  # the title heads article.text
    body_terms = [t.exact for t in tokens[len(title_tokens) :]]  # reposts edit headlines: the body is the story
    ps = tuple(passages(article))
    vecs = vectors if vectors is not None else np.zeros((len(ps), 0), dtype=np.float32)
    return IndexedArticle(
        article=article,
        stem=" ".join(t.stem for t in tokens if t.stem),
        exact=" ".join(t.exact for t in tokens),
        title_stem=" ".join(t.stem for t in title_tokens if t.stem),
        passages=ps,
        vectors=vecs,
        signature=stories.signature(body_terms),
    )


def passage_texts(items: Sequence[IndexedArticle]) -> list[str]:
    """What the encoder reads for each passage, in order: the title is prepended for context."""
    return [f"{i.article.title}\n{p.text}" if i.article.title else p.text for i in items for p in i.passages]


def embed_batch(items: Sequence[IndexedArticle], embedder: Embedder) -> list[IndexedArticle]:
    """One encoder call for all passages of a batch."""
    vecs = embedder.passages(passage_texts(items))
    out, k = [], 0
    for i in items:
        n = len(i.passages)
        out.append(replace(i, vectors=vecs[k : k + n]))
        k += n
    return out


def triage(
    items: Iterable[Article | Rejected | Notice],
    known: dict[str, tuple[str, str]],
    seen: dict[str, str],
    report: IndexReport,
    tick: Callable[[], object] = lambda: None,
) -> Iterator[Article]:
    """The articles to embed: errors and notes go to ``report``, an id read twice is an error (the
    first wins, ``seen`` remembers where), an article whose hash ``known`` holds is counted
    unchanged. One reading for a run and for a dry run, so they cannot count differently."""
    for item in items:
        if isinstance(item, Rejected):
            report.errors.append(item)
            continue
        if isinstance(item, Notice):
            report.notes.append(item)
            continue
        tick()
        where = item.path or item.id
        if item.id in seen:
            report.errors.append(Rejected(where, f"duplicate article id {item.id!r} (first seen in {seen[item.id]}); skipped"))
            continue
        seen[item.id] = where
        report.seen.add(item.id)
        old = known.get(item.id)
        if old and old[0] == item.content_hash:
            report.unchanged += 1
            continue
        yield item


class Indexer:
    """Indexes sources into a store with a given embedder."""

    def __init__(self, store: Store, embedder: Embedder, batch_size: int = DEFAULT_BATCH, progress: bool | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.batch_size = batch_size
        self.progress = sys.stderr.isatty() if progress is None else progress
        self._writer: ThreadPoolExecutor | None = None  # one per run, started by the first batch
        self._in_flight: tuple[Future[dict[str, str]], list[IndexedArticle]] | None = None

    def run(self, paths: Iterable[Path]) -> IndexReport:
        """Index files and directories (see ``ingest.iter_articles``)."""
        return self.run_items(iter_articles(paths))

    def run_items(self, items: Iterable[Article | Rejected | Notice], report: IndexReport | None = None) -> IndexReport:
        """Index a stream of articles; errors in it are reported, never fatal. A store failure
        ends the run: ``report``, when given, then holds what was written before it."""
        t0 = time.perf_counter()
        report = IndexReport() if report is None else report
        self.store.check_compatible(self.embedder.name, self.embedder.dim, ANALYSIS_VERSION)
        known = self.store.hashes()
        seen: dict[str, str] = {}
        pending: list[IndexedArticle] = []
        bar = self._bar()
        # one writer thread: batch k is written while batch k+1 is read, analyzed and encoded
        # (torch and the stores release the GIL); at most one write is in flight, in order
        try:
            self._read(items, known, seen, pending, report, bar)
            self._flush(pending, known, report)
            self._settle(known, report)
        finally:
            if self._writer is not None:  # an error still lets the write in flight finish
                self._writer.shutdown(wait=True)
                self._writer = None
        bar.close()
        if report.added or report.updated:
            self.store.optimize()
        report.seconds = time.perf_counter() - t0
        return report

    def _read(
        self,
        items: Iterable[Article | Rejected | Notice],
        known: dict[str, tuple[str, str]],
        seen: dict[str, str],
        pending: list[IndexedArticle],
        report: IndexReport,
        bar,
    ) -> None:  # type: ignore[no-untyped-def]
        for item in triage(items, known, seen, report, lambda: bar.update(1)):
            pending.append(prepare(item))
            if len(pending) >= self.batch_size:
                self._flush(pending, known, report)

    def _flush(self, pending: list[IndexedArticle], known: dict[str, tuple[str, str]], report: IndexReport) -> None:
        """Embed a batch and hand it to the writer once the previous write is settled."""
        if not pending:
            return
        batch = embed_batch(pending, self.embedder)
        pending.clear()
        self._settle(known, report)
        batch = stories.assign(batch, self.store.fingerprints)  # after the write before it: its articles count
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-writer")
        self._in_flight = (self._writer.submit(self._write, batch), batch)

    def _write(self, batch: list[IndexedArticle]) -> dict[str, str]:
        """Write one batch atomically; the articles that failed, with the reason."""
        try:
            self.store.upsert(batch)
        except PartialWrite as exc:
            return exc.failed
        return {}

    def _settle(self, known: dict[str, tuple[str, str]], report: IndexReport) -> None:
        """Wait for the write in flight (its store error is raised here); count what was written,
        report each article that was not."""
        if self._in_flight is None:
            return
        future, batch = self._in_flight
        self._in_flight = None
        failed = future.result()
        for item in batch:
            a = item.article
            if a.id in failed:
                report.errors.append(Rejected(a.path or a.id, f"article {a.id!r} not written: {failed[a.id]}"))
            elif a.id in known:
                report.updated += 1
                report.passages += len(item.passages)
            else:
                report.added += 1
                report.passages += len(item.passages)

    def _bar(self):  # type: ignore[no-untyped-def]
        from tqdm import tqdm

        return tqdm(unit=" articles", desc="indexing", disable=not self.progress, file=sys.stderr)
