"""Command line for the archive: index, search, export, status, embed, serve, demo, and the reindex jobs
(reindex, rollback, jobs, schedule).

Exit codes: 0 ok; 1 partial failure (some inputs could not be indexed; the rest were);
2 usage error; 3 failure (nothing usable: no inputs, store or model unavailable);
4 locked (another job is writing to the same index).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Light imports only: `search --api` and `embed --api` answer through a server without loading
# the analyzer, the stores or the model; each command imports what it needs.
from archive import answers, config
from archive.answers import Asked
from archive.config import API_ENV, DEFAULT_BATCH, ConfigError, ESSettings
from archive.model import MODES, SORTS, SUFFIXES
from archive.timeline import INTERVALS
from indexer import render

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_FAILED, EXIT_LOCKED = 0, 1, 2, 3, 4
STATUS_EXIT = {"ok": EXIT_OK, "partial": EXIT_PARTIAL, "failed": EXIT_FAILED, "locked": EXIT_LOCKED}
if TYPE_CHECKING:
    from archive.embeddings import Embedder
    from archive.jobs import JobConfig, JobRecord
    from archive.search import SearchService
    from archive.store import Store
    from archive.store.base import Reader
    from indexer.remote import Remote

ROOT = Path(__file__).resolve().parent.parent
PROG = "python -m indexer"
FILE_TYPES = ", ".join(SUFFIXES)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {value!r}") from exc


def _embedder(args: argparse.Namespace, store: Reader | None = None) -> Embedder:
    """The model ``--model`` or $ARCHIVE_MODEL names, else the built-in encoder ``store``'s index
    was embedded with (none given: a full rebuild, which builds with the default)."""
    from archive.embeddings import Embedder
    from archive.store import indexed_model

    explicit = args.model or os.environ.get(config.MODEL_ENV)
    return Embedder(config.model_name(args.model, None if explicit or store is None else indexed_model(store)))


def _es(args: argparse.Namespace) -> ESSettings:
    """ES settings: flags over environment; credentials only ever from the environment."""
    return ESSettings.from_env(
        url=args.es_url,
        index=args.es_index,
        ca_certs=args.es_ca_certs,
        timeout=args.es_timeout,
        verify_certs=False if args.es_no_verify else None,
        server_rrf=True if args.es_server_rrf else None,
    )


def _backend(args: argparse.Namespace) -> str:
    return config.backend(args.backend or ("elasticsearch" if args.es_url else None))


def _store(args: argparse.Namespace, read_only: bool = False) -> Store:
    from archive.store import open_store

    return open_store(config.data_dir(args.data_dir), read_only=read_only, backend=_backend(args), es=_es(args))


def _progress(args: argparse.Namespace) -> bool:
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def _report(rec: JobRecord, as_json: bool) -> int:
    """Print a job's outcome; its exit code."""
    render.job(rec.as_dict(), as_json)
    if rec.status == "partial" and not (rec.added or rec.updated or rec.unchanged or rec.deleted):
        return EXIT_FAILED  # nothing usable came of it
    return STATUS_EXIT.get(rec.status, EXIT_FAILED)


def cmd_index(args: argparse.Namespace) -> int:
    """Add or update the given files and directories (never deletes; see ``reindex``). Paths
    that do not exist, and inputs without one supported file, are refused before the index is
    opened, so a typo never creates an empty index."""
    from archive.ingest import Rejected, discover
    from archive.jobs import JobRunner, config_from_paths

    paths = [Path(p) for p in args.paths]
    missing = [p for p in paths if not p.exists()]
    for p in missing:
        print(f"error: {p}: no such file or directory", file=sys.stderr)
    paths = [p for p in paths if p.exists()]
    if not any(not isinstance(item, Rejected) for item in discover(paths)):
        if paths:
            print(f"error: no {FILE_TYPES} files in {', '.join(map(str, paths))}: nothing to index", file=sys.stderr)
        return EXIT_FAILED
    config = config_from_paths(
        paths, batch_size=args.batch_size, publisher=getattr(args, "publisher", None) or "", name=args.name or ""
    )
    store = _store(args)
    rec = JobRunner(store, _embedder(args, store), _progress(args)).run(config, deletions=False, moved=args.moved)
    code = _report(rec, args.json)
    return EXIT_PARTIAL if missing and code == EXIT_OK else code


def _has_index(args: argparse.Namespace) -> bool:
    """Whether something has been indexed at the configured location (read-only: creates nothing)."""
    from archive.store import StoreError

    try:
        return _store(args, read_only=True).info().articles > 0
    except StoreError:
        return False


def _job_config(args: argparse.Namespace) -> JobConfig:
    """The job file (``--config``) or the paths given; the file's [store] fills unset flags."""
    from archive.jobs import config_from_paths, load_config

    if args.config and args.paths:
        raise ConfigError("give either --config FILE or source paths, not both")
    if not args.config and not args.paths:
        raise ConfigError("nothing to index: give --config FILE (see the README) or source directories")
    if not args.config:
        return config_from_paths(
            [Path(p) for p in args.paths], args.batch_size or DEFAULT_BATCH, args.retention or 1, args.publisher or ""
        )
    config = load_config(Path(args.config))
    for key in ("backend", "data_dir", "model", "es_url", "es_index"):
        if getattr(args, key, None) is None and config.store.get(key) is not None:
            setattr(args, key, str(config.store[key]))
    if args.batch_size or args.retention is not None:
        from dataclasses import replace

        config = replace(
            config,
            batch_size=args.batch_size or config.batch_size,
            retention=config.retention if args.retention is None else args.retention,
        )
    return config


def cmd_reindex(args: argparse.Namespace) -> int:
    """Bring the index in step with its sources. A source that vanished keeps its articles (a
    disk not mounted is no reason to delete an archive); but when no source exists and there is
    no index yet, the paths are a mistake: refused before an empty index is created."""
    from archive.jobs import JobRunner

    config = _job_config(args)
    if not any(s.feed or s.path.exists() for s in config.sources) and not _has_index(args):
        for s in config.sources:
            print(f"error: {s.path}: no such file or directory", file=sys.stderr)
        return EXIT_FAILED
    store = _store(args)
    runner = JobRunner(store, _embedder(args, None if args.full else store), _progress(args))
    return _report(runner.run(config, full=args.full, dry_run=args.dry_run, only=args.source or (), moved=args.moved), args.json)


def cmd_rollback(args: argparse.Namespace) -> int:
    from archive.jobs import rollback

    rec = rollback(_store(args))
    print(
        rec.message if rec.status == "ok" else f"{rec.status}: {rec.message}",
        file=sys.stdout if rec.status == "ok" else sys.stderr,
    )
    return STATUS_EXIT.get(rec.status, EXIT_FAILED)


def cmd_jobs(args: argparse.Namespace) -> int:
    records = _store(args, read_only=True).jobs(args.limit)
    if args.json:
        print(json.dumps(records, ensure_ascii=False, indent=2))
        return EXIT_OK
    render.jobs(records, args.verbose)
    return EXIT_OK


def cmd_schedule(args: argparse.Namespace) -> int:
    """Run the job on a cron expression or an interval, in the foreground, until SIGTERM/Ctrl-C."""
    import logging
    import signal

    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    from archive.jobs import JobRunner, parse_duration

    config = _job_config(args)
    cron, every = args.cron or config.cron, args.every or config.every
    if bool(cron) == bool(every):
        raise ConfigError("give exactly one of --cron EXPR or --every DURATION (or [schedule] in the job file)")
    try:
        trigger = CronTrigger.from_crontab(cron) if cron else IntervalTrigger(seconds=parse_duration(str(every), "--every"))
    except ValueError as exc:
        raise ConfigError(f"--cron {cron!r}: {exc}") from None
    grace = parse_duration(args.misfire_grace or config.misfire_grace, "--misfire-grace")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    store = _store(args)
    runner = JobRunner(store, _embedder(args, None if args.full else store), False)

    def tick() -> None:
        try:
            rec = runner.run(config, full=args.full, only=args.source or ())
            print(render.job_line(rec.as_dict()), flush=True)
        except Exception as exc:  # noqa: BLE001 - one failed run must not stop the schedule
            print(f"job failed: {exc}", file=sys.stderr, flush=True)

    scheduler = BlockingScheduler(job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": int(grace)})
    now = dt.datetime.now().astimezone()
    first = now if args.now else trigger.get_next_fire_time(None, now)
    scheduler.add_job(tick, trigger, id="reindex", next_run_time=first)

    def stop(signum: int, _frame: object) -> None:
        print(f"signal {signum}: finishing the running job, then stopping", file=sys.stderr, flush=True)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(
        f"scheduled reindex ({'cron ' + cron if cron else 'every ' + str(every)}); first run {first:%Y-%m-%d %H:%M:%S %Z}",
        flush=True,
    )
    scheduler.start()  # blocks until stop()
    return EXIT_OK


def _asked(args: argparse.Namespace, **page: Any) -> Asked:
    """The request the flags state (search, export)."""
    return Asked(
        args.query,
        mode=args.mode,
        weight=args.weight,
        sources=tuple(args.source or ()),
        date_from=args.date_from,
        date_to=args.date_to,
        sort=args.sort,
        all_words=args.all_words,
        group=getattr(args, "group", False),
        **page,
    )


def _service(args: argparse.Namespace) -> SearchService:
    from archive.search import SearchService

    store = _store(args, read_only=True)
    return SearchService(store, lambda: _embedder(args, store))


def _remote(args: argparse.Namespace) -> Remote | None:
    """The server to ask (``--api`` or $ARCHIVE_API, unless ``--no-api``), said on stderr."""
    url = None if args.no_api else args.api or os.environ.get(API_ENV)
    if not url:
        return None
    from indexer.remote import Remote

    print(f"note: answered by the server at {url} (its index and model)", file=sys.stderr)
    return Remote(url)


def cmd_search(args: argparse.Namespace) -> int:
    asked = _asked(
        args,
        page=args.page,
        limit=args.limit,
        weaker=args.weaker,
        timeline=args.timeline,
        by_source=args.by_source,
        stories=args.stories,
        terms=args.terms,
    ).check()
    remote = _remote(args)
    out = remote.get("/v1/search", asked.params()) if remote else answers.answer(_service(args), asked)
    if args.timeline_csv and "timeline" in out:
        from archive.export import timeline_csv

        series = out["timeline"]
        by_source = {s: answers.buckets_of(rows) for s, rows in series["by_source"].items()}
        args.timeline_csv.write_bytes(timeline_csv(answers.buckets_of(series["buckets"]), by_source))
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        render.search(out, sys.stdout.isatty(), args.weaker)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """Every match, streamed: the file grows as articles are read (a batch at a time), so an
    export of the whole archive needs no more memory than one of ten articles."""
    asked = _asked(args, limit=1).check()
    remote = _remote(args)
    if remote:
        return _export_remote(remote, asked, args)
    from tqdm import tqdm

    from archive import export

    svc = _service(args)
    res = answers.run(svc, asked)
    for w in res.warnings:
        print(f"note: {w}", file=sys.stderr)
    bar = tqdm(total=res.total, unit=" articles", desc="exporting", disable=args.quiet, file=sys.stderr)
    hits = (bar.update(1) or h for h in svc.export(res))
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as out:
            n = export.write(hits, out, args.format)
    else:
        n = export.write(hits, sys.stdout, args.format)
    bar.close()
    print(
        f"{n:,} articles exported ({res.mode}"
        + ("" if res.total_exact else ", the semantic channel capped")
        + ")"
        + (f" to {args.out}" if args.out else ""),
        file=sys.stderr,
    )
    return EXIT_OK


def _export_remote(remote: Remote, asked: Asked, args: argparse.Namespace) -> int:
    """``export --api``: the server's stream written as it arrives, its rows counted on the way."""
    import csv
    import io
    from collections.abc import Iterator
    from contextlib import nullcontext

    sink = open(args.out, "w", encoding="utf-8", newline="") if args.out else nullcontext(sys.stdout)
    with remote.open("/v1/export", [*asked.params(), ("format", args.format)]) as response, sink as out:
        total = response.headers.get("X-Total-Matches", "?")
        lines = io.TextIOWrapper(response, encoding="utf-8", newline="")

        def passed() -> Iterator[str]:
            for line in lines:
                out.write(line)
                yield line

        # CSV rows may hold line breaks inside quotes: count records, not lines
        n = sum(1 for _ in csv.reader(passed())) - 1 if args.format == "csv" else sum(1 for _ in passed())
    where = f" to {args.out}" if args.out else ""
    print(f"{max(n, 0):,} articles exported{where} (the server counted {total} matches)", file=sys.stderr)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    out = answers.status_json(_store(args, read_only=True))
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
        return EXIT_OK
    render.status(out, sys.stdout.isatty())
    return EXIT_OK


def cmd_embed(args: argparse.Namespace) -> int:
    remote = _remote(args)
    if remote:
        vec = remote.post("/v1/embed", {"texts": [args.text], "kind": args.kind})["vectors"][0]
    else:
        from archive.embeddings import Embedder
        from archive.store import StoreError, indexed_model

        try:  # vectors comparable with the index's, when there is one
            indexed = None if args.model else indexed_model(_store(args, read_only=True))
        except StoreError:
            indexed = None
        emb = Embedder(config.model_name(args.model, indexed))
        vec = emb.queries([args.text])[0] if args.kind == "query" else emb.passages([args.text])[0]
    print(json.dumps([round(float(x), 7) for x in vec]))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """The read-only HTTP API over this index, the model loaded once for every request."""
    import time

    import uvicorn

    from archive.api import create_app, is_loopback
    from archive.config import API_KEY_ENV

    if not is_loopback(args.host) and not args.allow_remote:
        raise ConfigError(
            f"--host {args.host}: other machines could reach the archive there; add --allow-remote to mean it "
            f"(and set ${API_KEY_ENV} so that only those with the key can)"
        )
    key = os.environ.get(API_KEY_ENV) or None
    if not is_loopback(args.host) and not key:
        print(f"warning: serving on {args.host} without an API key: anyone who reaches it can search", file=sys.stderr)
    cors = tuple(args.cors_origin or [o for o in os.environ.get("ARCHIVE_API_CORS", "").split(",") if o.strip()])
    svc = _service(args)
    svc.store.info()  # no index here: say so now, not on the first request
    started = time.perf_counter()
    svc.embedder.queries(["warm up"])
    print(f"model {svc.embedder.name} loaded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    app = create_app(svc, api_key=key, cors_origins=cors)
    print(
        f"serving the API on http://{args.host}:{args.port}/v1 (docs: /docs"
        + (", API key required" if key else "")
        + (f", CORS for {', '.join(cors)}" if cors else "")
        + "); Ctrl-C stops it",
        file=sys.stderr,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=not args.quiet)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Index seeds/ into the embedded store, then serve the app on it."""
    args.paths, args.json, args.quiet, args.name = [str(ROOT / "seeds")], False, False, None
    args.moved = True  # the demo corpus is one source wherever this checkout lies
    code = cmd_index(args)
    if code == EXIT_FAILED:
        return code
    env = dict(os.environ, **{config.DATA_DIR_ENV: str(config.data_dir(args.data_dir).resolve())})
    if args.model:
        env[config.MODEL_ENV] = args.model
    env[config.BACKEND_ENV] = _backend(args)
    es = _es(args)  # flags reach the app through its environment (credentials are there already)
    env.update(
        {
            "ES_URL": es.url,
            "ES_INDEX": es.index,
            "ES_TIMEOUT": str(es.timeout),
            "ES_VERIFY_CERTS": str(es.verify_certs).lower(),
            "ES_SERVER_RRF": str(es.server_rrf).lower(),
        }
    )
    if es.ca_certs:
        env["ES_CA_CERTS"] = es.ca_certs
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "search_ui" / "app.py"), "--server.port", str(args.port)]
    print(f"serving the app on http://localhost:{args.port} (Ctrl-C stops it)")
    return subprocess.call(cmd, env=env, cwd=ROOT)  # cwd: streamlit reads .streamlit/config.toml there


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help=f"index location (default ${config.DATA_DIR_ENV} or ./data)")
    common.add_argument(
        "--model", help=f"sentence-transformers model id or path (default ${config.MODEL_ENV} or multilingual-e5-small)"
    )
    common.add_argument(
        "--backend",
        choices=config.BACKENDS,
        help=f"store (default ${config.BACKEND_ENV}; elasticsearch when $ES_URL is set; else lancedb)",
    )
    es = common.add_argument_group("Elasticsearch (credentials only from $ES_API_KEY or $ES_USERNAME/$ES_PASSWORD)")
    es.add_argument("--es-url", help="cluster URL (default $ES_URL or http://localhost:9200)")
    es.add_argument("--es-index", help="alias to read and write (default $ES_INDEX or news)")
    es.add_argument("--es-ca-certs", help="CA certificate file for TLS (default $ES_CA_CERTS)")
    es.add_argument("--es-no-verify", action="store_true", help="do not verify TLS certificates ($ES_VERIFY_CERTS=false)")
    es.add_argument("--es-timeout", type=float, help="request timeout in seconds (default $ES_TIMEOUT or 30)")
    es.add_argument(
        "--es-server-rrf",
        action="store_true",
        help="fuse hybrid results on the cluster (rrf retriever; ES 8.15+, Enterprise licence) ($ES_SERVER_RRF)",
    )
    p = argparse.ArgumentParser(prog=PROG, description="Arabic news archive: index and search (keyword + semantic).")
    sub = p.add_subparsers(dest="command", required=True)

    publisher = argparse.ArgumentParser(add_help=False)
    publisher.add_argument(
        "--publisher",
        help="source of the articles that name none themselves (a trailing "
        "line that is a name is then left in the text unless it is this)",
    )
    ix = sub.add_parser("index", parents=[common, publisher], help=f"add or update files or directories ({FILE_TYPES})")
    ix.add_argument("paths", nargs="+", help=f"files or directories to index ({FILE_TYPES})")
    moved_help = "a source's directory moved: take the new one as the same source (its articles keep their ids)"
    ix.add_argument("--moved", action="store_true", help=moved_help)
    ix.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH,
        help=f"articles per encoder call and atomic write (default {DEFAULT_BATCH})",
    )
    ix.add_argument("--name", help="the source's name in the index (default: the directory's name); one path only")
    ix.add_argument("--json", action="store_true", help="print the run summary as JSON")
    ix.add_argument("--quiet", action="store_true", help="no progress bar")
    ix.set_defaults(func=cmd_index)

    asked = argparse.ArgumentParser(add_help=False)  # what a result set depends on (search, export)
    asked.add_argument(
        "query",
        help='query: words, "phrases", AND / OR / NOT, (groups), +required, -excluded, '
        '"a b"~5 (within 5 words), word~1 (fuzzy), prefix*, title:word, source:X, '
        "from:/to:YYYY-MM-DD (a query that starts with - is read as the query, not as an option)",
    )
    asked.add_argument("--mode", choices=MODES, default="hybrid")
    asked.add_argument("--weight", type=float, default=0.5, help="semantic weight in hybrid mode, 0..1 (default 0.5)")
    asked.add_argument("--source", action="append", help="only this source (repeatable)")
    asked.add_argument("--from", dest="date_from", type=_date, help="published on or after YYYY-MM-DD")
    asked.add_argument("--to", dest="date_to", type=_date, help="published on or before YYYY-MM-DD")
    asked.add_argument("--sort", choices=SORTS, default="relevance")
    asked.add_argument(
        "--and", dest="all_words", action="store_true", help="juxtaposed words are all required (default: any of them, ranked)"
    )
    remote = argparse.ArgumentParser(add_help=False)
    remote.add_argument(
        "--api", metavar="URL", help=f"ask the server running `serve` at URL (default ${API_ENV}): no model to load here"
    )
    remote.add_argument("--no-api", action="store_true", help=f"answer in this process even if ${API_ENV} is set")
    se = sub.add_parser("search", parents=[common, asked, remote], help="search the index")
    se.add_argument("--page", type=int, default=1)
    se.add_argument("--limit", type=int, default=10, help="results per page")
    se.add_argument("--json", action="store_true", help="machine-readable output")
    se.add_argument(
        "--weaker",
        action="store_true",
        help="also list the semantic hits below the relevance floor, after the results (marked, not counted)",
    )
    se.add_argument(
        "--timeline",
        nargs="?",
        const="auto",
        choices=("auto", *INTERVALS),
        help="attention over time: matches per day / week / month / year (default: chosen from the span) "
        "beside all articles under the same filters, and their share",
    )
    se.add_argument("--by-source", action="store_true", help="with --timeline: a series per source (the 5 largest)")
    se.add_argument(
        "--stories",
        action="store_true",
        help="with --timeline: count near-duplicate stories (each where its first version was published), not articles",
    )
    se.add_argument("--timeline-csv", type=Path, metavar="FILE", help="with --timeline: also write the series as CSV")
    se.add_argument(
        "--group",
        action="store_true",
        help="one result per story: near-duplicates (the same text republished) listed once, with their versions",
    )
    se.add_argument(
        "--terms",
        nargs="?",
        type=int,
        const=25,
        metavar="N",
        help="the result set's N most significant terms against the whole archive (default 25); "
        "add one to the query as +term to narrow to it",
    )
    se.set_defaults(func=cmd_search)

    ex = sub.add_parser("export", parents=[common, asked, remote], help="every match of a query as CSV or JSONL (no cap)")
    ex.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    ex.add_argument("--out", type=Path, help="file to write (default: standard output)")
    ex.add_argument("--quiet", action="store_true", help="no progress bar")
    ex.set_defaults(func=cmd_export)

    st = sub.add_parser("status", parents=[common], help="what the index holds")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)

    em = sub.add_parser("embed", parents=[common, remote], help="print a text's vector as JSON (for kNN queries)")
    em.add_argument("text")
    em.add_argument("--kind", choices=("query", "passage"), default="query")
    em.set_defaults(func=cmd_embed)

    sv = sub.add_parser("serve", parents=[common], help="a read-only HTTP search API over the index (JSON, OpenAPI docs)")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--allow-remote", action="store_true", help="allow a --host other machines can reach")
    sv.add_argument(
        "--cors-origin", action="append", help="a browser origin allowed to call the API (repeatable; default $ARCHIVE_API_CORS)"
    )
    sv.add_argument("--quiet", action="store_true", help="no access log")
    sv.set_defaults(func=cmd_serve)

    job = argparse.ArgumentParser(add_help=False)
    job.add_argument("paths", nargs="*", help="source directories (instead of --config)")
    job.add_argument("--config", help="job file (TOML): sources, store, retention, schedule")
    job.add_argument("--source", action="append", help="only this configured source (repeatable)")
    job.add_argument("--full", action="store_true", help="rebuild into a new generation, then switch readers to it")
    job.add_argument("--batch-size", type=int, help=f"articles per encoder call and atomic write (default {DEFAULT_BATCH})")
    job.add_argument("--retention", type=int, help="previous generations kept for rollback (default 1)")
    job.add_argument("--quiet", action="store_true", help="no progress bar")

    rx = sub.add_parser(
        "reindex", parents=[common, job, publisher], help="sync the index with its sources (adds, updates, deletes)"
    )
    rx.add_argument("--dry-run", action="store_true", help="count what would change; embed and write nothing")
    rx.add_argument("--moved", action="store_true", help=moved_help)
    rx.add_argument("--json", action="store_true", help="print the job record as JSON")
    rx.set_defaults(func=cmd_reindex)

    rb = sub.add_parser("rollback", parents=[common], help="switch readers back to the previous generation")
    rb.set_defaults(func=cmd_rollback)

    jb = sub.add_parser("jobs", parents=[common], help="job history, newest first")
    jb.add_argument("--limit", type=int, default=20)
    jb.add_argument("--verbose", "-v", action="store_true", help="show each job's errors and notes")
    jb.add_argument("--json", action="store_true")
    jb.set_defaults(func=cmd_jobs)

    sc = sub.add_parser("schedule", parents=[common, job, publisher], help="run reindex on a schedule in the foreground")
    sc.add_argument("--cron", help='crontab expression, e.g. "0 * * * *" (hourly)')
    sc.add_argument("--every", help="interval, e.g. 15m, 2h, 1d")
    sc.add_argument("--misfire-grace", help="run a late job if no later than this (default 10m)")
    sc.add_argument("--now", action="store_true", help="also run once right away")
    sc.set_defaults(func=cmd_schedule)

    de = sub.add_parser("demo", parents=[common], help="index seeds/ and serve the search app")
    de.add_argument("--port", type=int, default=8501)
    de.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
    de.set_defaults(func=cmd_demo)
    return p


def _query_after_dashes(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``search -داعش`` (or ``export``): argparse would take a query that starts with ``-`` for
    an unknown option. The first such word that is neither an option of the command nor an
    option's value is moved behind ``--``, where argparse reads it as the query."""
    if not argv or argv[0] not in ("search", "export") or "--" in argv:
        return argv
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[argv[0]]
    options = sub._option_string_actions
    for i, word in enumerate(argv[1:], 1):
        prev = options.get(argv[i - 1].split("=")[0]) if i > 1 else None
        takes_value = prev is not None and prev.nargs != 0 and "=" not in argv[i - 1]
        if word.startswith("-") and word != "-" and word.split("=")[0] not in options and not takes_value:
            return argv[:i] + argv[i + 1 :] + ["--", word]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_query_after_dashes(parser, list(sys.argv[1:] if argv is None else argv)))
    try:
        return int(args.func(args))
    except ConfigError as exc:  # a bad job file, flag combination or environment setting; any other error is a bug
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: what was written so far is kept; run the same command again to finish", file=sys.stderr)
        return 130
    except Exception as exc:
        if not _unavailable(exc):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE if getattr(exc, "status", 0) in (400, 422) else EXIT_FAILED


def _unavailable(exc: Exception) -> bool:
    """A failure the user can act on (exit 3): the store, the model, a file, the server."""
    if isinstance(exc, OSError):
        return True
    kinds = [("archive.store.base", "StoreError"), ("archive.embeddings", "ModelUnavailable"), ("indexer.remote", "RemoteError")]
    # a module not imported yet cannot have raised its error: nothing is imported to check
    return any(isinstance(exc, getattr(sys.modules[m], name)) for m, name in kinds if m in sys.modules)
