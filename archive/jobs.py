"""Reindex jobs: keep an index equal to its configured sources, unattended.

A job reads every source, embeds only new and changed articles (by content hash), deletes the
articles whose source file or line is gone, and records what it did. A full rebuild writes a new
generation and switches readers to it atomically; it is forced when the model, vector dimension,
analysis version or mapping changed. One job per index at a time (the store's lock); every run,
even a refused one, leaves a record both the CLI and the app read.

Safety over tidiness: articles are never deleted because their file could not be read (an
unreadable file, directory or missing source keeps what was indexed from it), and a full rebuild
is not switched to when it would lose articles the active generation has.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
import tomllib
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from archive.analysis import ANALYSIS_VERSION
from archive.config import DEFAULT_BATCH, ConfigError
from archive.embeddings import Embedder
from archive.ingest import Fetcher, Notice, Rejected, discover, read_feed, read_file, stored_path
from archive.ingest.feeds import DELAY, TIMEOUT
from archive.model import Article
from archive.pipeline import Counts, Indexer, IndexReport, triage
from archive.store.base import IndexMismatch, Store, StoreError, StoreLocked, activate_previous, prune

MAX_RECORDED_ERRORS = 200
DELETE_CHUNK = 500
DEAD_SCAN = 100  # newest job records looked through for runs that died
CARRY_BATCH = 500  # a feed's earlier entries read per call when a rebuild carries them over
HISTORY_SCAN = 10_000  # job records looked through for the directory each source name stands for


@dataclass(frozen=True)
class Source:
    """A directory (or file) of articles, stored under ``<name>/<relative path>``; or a news feed
    (``feed``: an RSS or Atom URL), whose entries are stored under ``<name>/<URL>``."""

    name: str
    path: Path
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    publisher: str = ""  # the source of its articles that name none themselves
    feed: str = ""
    allow_private: bool = False  # a feed on a private or loopback address may be fetched
    delay: float = DELAY  # seconds between two requests to one host of the feed
    timeout: float = TIMEOUT  # seconds a feed's request may take

    @property
    def root(self) -> str:
        """What this source stands for in the index: its feed, its directory (a file's: its directory)."""
        if self.feed:
            return self.feed
        p = self.path.resolve()
        return str(p.parent if p.is_file() else p)


@dataclass(frozen=True)
class JobConfig:
    sources: tuple[Source, ...]
    retention: int = 1  # inactive generations kept for rollback after a full rebuild
    batch_size: int = DEFAULT_BATCH
    store: dict[str, Any] = field(default_factory=dict)  # backend, data_dir, model, es_url, es_index
    cron: str | None = None
    every: str | None = None
    misfire_grace: str = "10m"
    origin: str = "command line"


def parse_duration(text: str, where: str = "duration") -> float:
    """'90s', '15m', '2h', '1d' or plain seconds -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    t = str(text).strip().lower()
    try:
        value = float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t)
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not a duration (e.g. 90s, 15m, 2h, 1d)") from None
    if value <= 0:
        raise ConfigError(f"{where}: {text!r} must be positive")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where}: expected a string or a list of strings")


def load_config(path: Path) -> JobConfig:
    """Read a TOML job file (see the README's *Reindex jobs*); relative paths are relative to it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    base = path.resolve().parent
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, list) or not raw_sources:
        raise ConfigError(f"{path}: sources: at least one [[sources]] table with a path is needed")
    sources = []
    for i, s in enumerate(raw_sources, 1):
        where = f"{path}: sources[{i}]"
        if not isinstance(s, dict):
            raise ConfigError(f"{where}: expected a table with a path or a feed")
        unknown = set(s) - {"name", "path", "feed", "include", "exclude", "publisher", "allow_private", "delay", "timeout"}
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        if "feed" in s:
            sources.append(_feed_source(s, where))
            continue
        if not isinstance(s.get("path"), str) or not s["path"].strip():
            raise ConfigError(f"{where}.path: missing (a directory of .txt, .jsonl or .csv files; or feed = URL)")
        if {"allow_private", "delay", "timeout"} & set(s):
            raise ConfigError(f"{where}: allow_private, delay and timeout are for feed sources")
        p = Path(os.path.expanduser(s["path"]))
        p = p if p.is_absolute() else base / p
        name = s.get("name") or p.name
        if not isinstance(name, str) or "/" in name or not name.strip():
            raise ConfigError(f"{where}.name: {name!r} must be a non-empty name without '/'")
        publisher = s.get("publisher", "")
        if not isinstance(publisher, str):
            raise ConfigError(f"{where}.publisher: expected a string, got {publisher!r}")
        sources.append(
            Source(
                name,
                p,
                _strings(s.get("include", []), f"{where}.include"),
                _strings(s.get("exclude", []), f"{where}.exclude"),
                publisher.strip(),
            )
        )
    _unique(sources, str(path))
    store = data.get("store", {})
    if not isinstance(store, dict) or set(store) - {"backend", "data_dir", "model", "es_url", "es_index"}:
        raise ConfigError(f"{path}: store: allowed fields are backend, data_dir, model, es_url, es_index")
    if isinstance(store.get("data_dir"), str) and not Path(store["data_dir"]).is_absolute():
        store = dict(store, data_dir=str(base / store["data_dir"]))
    schedule = data.get("schedule", {})
    if not isinstance(schedule, dict) or set(schedule) - {"cron", "every", "misfire_grace"}:
        raise ConfigError(f"{path}: schedule: allowed fields are cron, every, misfire_grace")
    cfg = JobConfig(
        sources=tuple(sources),
        retention=_int(data.get("retention", 1), f"{path}: retention", 0),
        batch_size=_int(data.get("batch_size", DEFAULT_BATCH), f"{path}: batch_size", 1),
        store=store,
        cron=schedule.get("cron"),
        every=schedule.get("every"),
        misfire_grace=str(schedule.get("misfire_grace", "10m")),
        origin=str(path),
    )
    if cfg.every is not None:
        parse_duration(cfg.every, f"{path}: schedule.every")
    parse_duration(cfg.misfire_grace, f"{path}: schedule.misfire_grace")
    return cfg


def _feed_source(s: dict, where: str) -> Source:
    """A ``[[sources]]`` table with ``feed = "https://…"``."""
    feed = s["feed"]
    if not isinstance(feed, str) or urllib.parse.urlsplit(feed).scheme not in ("http", "https") or "path" in s:
        raise ConfigError(f"{where}.feed: an http(s) URL of an RSS or Atom feed (and no path), got {feed!r}")
    name = s.get("name") or urllib.parse.urlsplit(feed).hostname or ""
    if not isinstance(name, str) or "/" in name or not name.strip():
        raise ConfigError(f"{where}.name: {name!r} must be a non-empty name without '/'")
    allow = s.get("allow_private", False)
    if not isinstance(allow, bool):
        raise ConfigError(f"{where}.allow_private: true or false, got {allow!r}")
    seconds = {}
    for key, default, least in (("delay", DELAY, 0.0), ("timeout", TIMEOUT, 0.1)):
        value = s.get(key, default)
        if not isinstance(value, int | float) or isinstance(value, bool) or value < least:
            raise ConfigError(f"{where}.{key}: a number of seconds ≥ {least}, got {value!r}")
        seconds[key] = float(value)
    publisher = s.get("publisher", "")
    if not isinstance(publisher, str):
        raise ConfigError(f"{where}.publisher: expected a string, got {publisher!r}")
    return Source(
        name,
        Path(),
        publisher=publisher.strip(),
        feed=feed,
        allow_private=allow,
        delay=seconds["delay"],
        timeout=seconds["timeout"],
    )


def _int(value: Any, where: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{where}: expected a whole number ≥ {minimum}, got {value!r}")
    return value


def _unique(sources: Sequence[Source], where: str) -> None:
    names = [s.name for s in sources]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f'{where}: source names must be unique (repeated: {", ".join(dup)}); set name = "…"')


def config_from_paths(
    paths: Sequence[Path], batch_size: int = DEFAULT_BATCH, retention: int = 1, publisher: str = "", name: str = ""
) -> JobConfig:
    """Sources given on the command line: a directory is a source named after it (or ``name``),
    a file belongs to the source named after its directory (the stored paths
    ``ingest.iter_articles`` gives). Two paths that would be stored under one name are refused:
    the second would replace the first one's articles."""
    if name and ("/" in name or not name.strip() or len(paths) != 1):
        raise ConfigError(f"--name {name!r}: one source path, and a name without '/'")
    sources = [
        Source(
            name or (p.resolve().name if p.is_dir() or not p.exists() else p.resolve().parent.name),
            p,
            publisher=publisher.strip(),
        )
        for p in paths
    ]
    by_name: dict[str, set[str]] = {}
    for s in sources:
        by_name.setdefault(s.name, set()).add(s.root)
    clash = {n: sorted(roots) for n, roots in by_name.items() if len(roots) > 1}
    if clash:
        n, roots = next(iter(clash.items()))
        raise SourceClash(
            f"{' and '.join(roots)} would both be stored as {n}/…, so one would replace the other's articles: "
            "index them one at a time, each with its own --name"
        )
    return JobConfig(tuple(sources), retention=retention, batch_size=batch_size)


class SourceClash(ConfigError):
    """A source name this index already gives to another directory (or two at once)."""


def claimed_roots(store: Store) -> dict[str, str]:
    """Each source name's directory, as the newest job that ran it recorded it."""
    taken: dict[str, str] = {}
    for r in store.jobs(HISTORY_SCAN):  # newest first
        if r.get("mode") == "dry-run" or r.get("status") == "locked":
            continue
        for root in r.get("roots") or []:
            if isinstance(root, dict) and root.get("name"):
                taken.setdefault(str(root["name"]), str(root.get("path", "")))
    return taken


def check_sources(store: Store, sources: Sequence[Source], moved: bool = False) -> None:
    """Refuse a source whose name the index already gives to another directory: its articles
    would replace the other's (the same stored paths, the same ids), and a reindex would delete
    the other's. ``moved``: the directory moved, and is the same source."""
    if moved:
        return
    taken = claimed_roots(store)
    for s in sources:
        other = taken.get(s.name)
        if other and other != s.root:
            raise SourceClash(
                f"source {s.name!r} is {other} in this index: {s.root} would replace its articles, and a reindex "
                f'of it would delete theirs. Give it another name (--name NAME, or name = "…" in a job file), '
                f"or, if {other} moved to {s.root}, say so with --moved"
            )


@dataclass
class JobRecord(Counts):
    """One run of a job, as stored in the history (the counts come from the run's ``IndexReport``)."""

    id: str
    mode: str  # incremental | full | dry-run | rollback
    sources: list[str]
    started: str
    status: str = "running"  # running | ok | partial | failed | locked (| interrupted, when read back)
    ended: str | None = None
    seconds: float = 0.0
    deleted: int = 0
    failed: int = 0
    kept_unreadable: int = 0  # indexed articles kept because their file could not be read
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. files read in a legacy encoding
    generation: str | None = None
    switched: bool | None = None
    pruned: list[str] = field(default_factory=list)
    message: str = ""
    roots: list[dict[str, str]] = field(default_factory=list)  # each source's name and directory
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)

    def as_dict(self) -> dict:
        """The record as stored and printed: who, when and how it ended first, then the counts."""
        d = asdict(self)
        head = ("id", "mode", "sources", "started", "status", "ended", "seconds")
        return {**{k: d[k] for k in head}, **{k: v for k, v in d.items() if k not in head}}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class _Scan:
    """Reads the sources and remembers what could not be read, so nothing is deleted for it."""

    def __init__(
        self, sources: Sequence[Source], known: dict[str, tuple[str, str]] | None = None, carry: Store | None = None
    ) -> None:
        """``known``: the index's articles (id → hash, stored path): a feed's are not fetched
        again; ``carry``: the store a rebuild reads a feed's earlier entries from (a feed shows
        only its latest, and those left it are the archive's)."""
        self.sources = sources
        self.known = known or {}
        self.carry = carry
        self.requests = 0  # HTTP requests made for feeds
        # per host, shared by every feed's fetcher: whose turn it is, and its robots.txt
        self._turns: dict[str, float] = {}
        self._robots: dict[str, Any] = {}
        self.protected_files: set[str] = set()  # stored paths of files with any read error
        self.protected_dirs: set[str] = set()  # stored-path prefixes of unreadable dirs / missing sources

    def _feed(self, src: Source) -> Iterator[Article | Rejected | Notice]:
        mine = sorted(aid for aid, (_, p) in self.known.items() if p.startswith(f"{src.name}/"))
        fetcher = Fetcher(
            allow_private=src.allow_private,
            delay=src.delay,
            timeout=src.timeout,
            last_request=self._turns,
            robots=self._robots,
        )
        try:
            yield from read_feed(src.feed, src.name, fetcher, src.publisher, known=set(mine))
        finally:
            self.requests += fetcher.requests
        if self.carry is not None:
            for i in range(0, len(mine), CARRY_BATCH):
                yield from self.carry.get(mine[i : i + CARRY_BATCH]).values()

    def items(self) -> Iterator[Article | Rejected | Notice]:
        for src in self.sources:
            if src.feed:
                yield from self._feed(src)
                continue
            if not src.path.exists():
                self.protected_dirs.add(f"{src.name}/")
                yield Rejected(
                    str(src.path), f"no such file or directory (source {src.name!r}); articles indexed from it are kept"
                )
                continue
            root = src.path if src.path.is_dir() else None
            for item in discover([src.path], src.include, src.exclude):
                if isinstance(item, Rejected):
                    bad = Path(item.where)
                    rel = stored_path(bad, root, src.name) if root and bad.is_relative_to(root) else f"{src.name}/"
                    self.protected_dirs.add(rel.rstrip("/") + "/")
                    yield item
                    continue
                f, froot = item
                rel = stored_path(f, froot, src.name)
                for a in read_file(f, froot, src.name, src.publisher):
                    if isinstance(a, Rejected):
                        self.protected_files.add(rel)
                    yield a

    def in_scope(self, path: str) -> bool:
        """Whether the job answers for this article's existence (a feed's entries are never deleted)."""
        return any(path.startswith(f"{s.name}/") for s in self.sources if not s.feed)

    def protected(self, path: str) -> bool:
        return path in self.protected_files or any(path.startswith(d) for d in self.protected_dirs)


class JobRunner:
    """Runs reindex jobs on one store with one embedder."""

    def __init__(self, store: Store, embedder: Embedder, progress: bool = False) -> None:
        self.store = store
        self.embedder = embedder
        self.progress = progress

    def run(
        self,
        config: JobConfig,
        full: bool = False,
        dry_run: bool = False,
        only: Sequence[str] = (),
        deletions: bool = True,
        moved: bool = False,
    ) -> JobRecord:
        """One job. ``deletions=False`` (the ``index`` command) only adds and updates; ``moved``:
        a source's directory moved (``check_sources``)."""
        sources = self._select(config, only)
        if full and only:
            raise ConfigError("--full rebuilds the whole index from every source; it cannot be limited with --source")
        mode = "dry-run" if dry_run else "full" if full else "incremental" if deletions else "index"
        rec = JobRecord(uuid.uuid4().hex[:12], mode, [s.name for s in sources], _now())
        t0 = time.perf_counter()
        try:
            if dry_run:
                check_sources(self.store, sources, moved)
                self._dry_run(sources, full, rec)
            else:
                with self.store.lock(rec.id):
                    close_dead_jobs(self.store, rec.id)
                    check_sources(self.store, sources, moved)  # under the lock: no job claims a name meanwhile
                    rec.roots = [{"name": s.name, "path": s.root} for s in sources]
                    self.store.record_job(rec.as_dict())
                    self._run(config, sources, full, rec)
        except StoreLocked as exc:
            rec.status, rec.message = "locked", str(exc)
        except Exception as exc:  # the record must say how the job ended, whatever ended it
            rec.status, rec.message = "failed", f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)
            raise
        finally:
            rec.ended, rec.seconds = _now(), round(time.perf_counter() - t0, 2)
            if rec.status == "running":
                rec.status = "partial" if rec.failed else "ok"
            try:
                self.store.record_job(rec.as_dict())
            except Exception:  # noqa: BLE001 - a failing history must not hide the job's own outcome
                if rec.status != "failed":
                    raise
        return rec

    @staticmethod
    def _select(config: JobConfig, only: Sequence[str]) -> list[Source]:
        if not only:
            return list(config.sources)
        names = {s.name for s in config.sources}
        unknown = [n for n in only if n not in names]
        if unknown:
            raise ConfigError(f"unknown source(s) {', '.join(unknown)} (configured: {', '.join(sorted(names))})")
        return [s for s in config.sources if s.name in only]

    def _absorb(self, rec: JobRecord, report: IndexReport) -> None:
        for f in fields(Counts):
            setattr(rec, f.name, getattr(report, f.name))
        rec.failed = report.failed
        rec.errors = [str(e) for e in report.errors[:MAX_RECORDED_ERRORS]]
        rec.notes = [str(n) for n in report.notes[:MAX_RECORDED_ERRORS]]
        if report.failed > MAX_RECORDED_ERRORS:
            rec.errors.append(f"… and {report.failed - MAX_RECORDED_ERRORS} more")

    def _index(self, store: Store, config: JobConfig, scan: _Scan, rec: JobRecord) -> IndexReport:
        """Index what the scan reads into ``store``; the record counts what was written even when
        a store failure (a full disk, a cluster refusing writes) ends the run half-way."""
        report = IndexReport()
        try:
            return Indexer(store, self.embedder, config.batch_size, self.progress).run_items(scan.items(), report)
        finally:
            self._absorb(rec, report)

    def _run(self, config: JobConfig, sources: Sequence[Source], full: bool, rec: JobRecord) -> None:
        if not full:
            try:
                self.store.check_compatible(self.embedder.name, self.embedder.dim, ANALYSIS_VERSION)
            except IndexMismatch as exc:
                if rec.mode == "index":  # ad-hoc files are not the whole index: never rebuild from them
                    raise
                full, rec.mode, rec.message = True, "full", f"full rebuild forced: {exc}"
        if full and rec.sources != [s.name for s in config.sources]:
            raise ConfigError("the index needs a full rebuild, which reads every source: run reindex without --source")
        if full:
            self._full(config, sources, rec)
        else:
            self._incremental(config, sources, rec)

    def _incremental(self, config: JobConfig, sources: Sequence[Source], rec: JobRecord) -> None:
        known = self.store.hashes()
        scan = _Scan(sources, known)
        report = self._index(self.store, config, scan, rec)
        if rec.mode == "index":
            return
        doomed, kept = [], 0
        for aid, (_, path) in known.items():
            if aid in report.seen or not scan.in_scope(path):
                continue
            if scan.protected(path):
                kept += 1
            else:
                doomed.append(aid)
        for i in range(0, len(doomed), DELETE_CHUNK):
            rec.deleted += self.store.delete(doomed[i : i + DELETE_CHUNK])
        self.store.optimize()  # also after a run with no changes: it sweeps what a killed run left
        rec.kept_unreadable = kept

    def _full(self, config: JobConfig, sources: Sequence[Source], rec: JobRecord) -> None:
        known = self.store.hashes()
        gen = self.store.new_generation(self.embedder.name, self.embedder.dim, ANALYSIS_VERSION)
        rec.generation = gen.target
        self.store.record_job(rec.as_dict())
        scan = _Scan(sources, known, carry=self.store)
        report = self._index(gen, config, scan, rec)
        rec.deleted = sum(
            1 for aid, (_, p) in known.items() if aid not in report.seen and scan.in_scope(p) and not scan.protected(p)
        )
        would_lose = sorted({p for aid, (_, p) in known.items() if aid not in report.seen and scan.protected(p)})
        unwritten = [e for e in report.errors if "not written" in e.message]
        if would_lose or unwritten:
            rec.switched = False
            why = (
                f"{len(would_lose)} indexed article(s) whose files could not be read now (e.g. {would_lose[0]})"
                if would_lose
                else f"{len(unwritten)} article(s) could not be written"
            )
            rec.message = (rec.message + "; " if rec.message else "") + (
                f"not switched to {rec.generation}: it would lose {why}; readers keep the previous generation"
            )
            rec.failed = max(rec.failed, 1)
            return
        self.store.activate(str(rec.generation))
        rec.switched = True
        rec.pruned = prune(self.store, config.retention)

    def _dry_run(self, sources: Sequence[Source], full: bool, rec: JobRecord) -> None:
        """Count what a run would do, without embedding or writing anything to the index."""
        try:
            known = self.store.hashes()
        except Exception:  # noqa: BLE001 - an empty or missing index: everything would be added
            known = {}
        scan = _Scan(sources, known)
        report = IndexReport()
        for item in triage(scan.items(), {} if full else known, {}, report):
            if full or item.id not in known:
                report.added += 1
            else:
                report.updated += 1
        self._absorb(rec, report)
        for aid, (_, path) in known.items():
            if aid not in report.seen and scan.in_scope(path):
                if scan.protected(path):
                    rec.kept_unreadable += 1
                else:
                    rec.deleted += 1


def close_dead_jobs(store: Store, holder: str) -> None:
    """Record every job still 'running' as interrupted, with why. Called by the lock's
    holder: no other job can be running, so their processes died (kill -9, a crash, a reboot)
    before they could say so, and the history said 'running' for ever."""
    dead = [r for r in store.jobs(DEAD_SCAN) if r.get("status") == "running" and r.get("id") != holder]
    for r in dead:
        why = (
            f"the process (pid {r.get('pid')} on {r.get('host')}) ended without finishing (killed, crashed or its "
            f"machine stopped); found by job {holder} at {_now()}"
        )
        store.record_job(dict(r, status="interrupted", message=f"{r['message']}; {why}" if r.get("message") else why))


def rollback(store: Store) -> JobRecord:
    """Switch readers back to the previous generation, under the job lock, recorded like a job."""
    rec = JobRecord(uuid.uuid4().hex[:12], "rollback", [], _now())
    try:
        with store.lock(rec.id):
            close_dead_jobs(store, rec.id)
            rec.generation = activate_previous(store)
            rec.switched, rec.status = True, "ok"
            rec.message = f"readers now use {rec.generation}"
    except StoreLocked as exc:
        rec.status, rec.message = "locked", str(exc)
    except StoreError as exc:
        rec.status, rec.message = "failed", str(exc)
    finally:
        rec.ended = _now()
        if rec.status == "running":
            rec.status = "failed"
        store.record_job(rec.as_dict())
    return rec
