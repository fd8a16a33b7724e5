"""Reindex jobs on both backends: incremental sync with deletions, full rebuilds with a reader
searching throughout, rollback, forced rebuilds, locking, SIGKILL and resume, scheduling."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from archive.config import ESSettings
from archive.embeddings import Embedder
from archive.ingest import iter_articles, passages
from archive.jobs import ConfigError, JobRunner, config_from_paths, load_config, rollback
from archive.model import Article
from archive.search import SearchService
from archive.store import open_store
from archive.store.base import Store, StoreLocked
from archive.store.elastic import ElasticStore

from .conftest import ROOT, Searching, record_reliability, run_cli
from .helpers import assert_store_equals, job_file, write_feed


def expected(corpus: Path) -> dict[str, tuple[str, int]]:
    """What the store must hold for ``corpus`` under ``job_file``'s source: id -> (content hash,
    passages), read by the job's own reader so both sides agree on paths."""
    from archive.jobs import Source, _Scan  # noqa: PLC0415

    arts = [a for a in _Scan([Source("news", corpus, ("*.txt", "*.jsonl"), ("drafts/*",))]).items() if isinstance(a, Article)]
    return {a.id: (a.content_hash, len(passages(a))) for a in arts}


def keyword_ids(store: Store, embedder: Embedder, text: str) -> list[str]:
    return [h.article.id for h in SearchService(store, embedder).search(text, mode="keyword").hits]


def test_incremental_sync_adds_updates_deletes_and_embeds_only_changes(
    make_store: Callable[..., Store], corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    feed = write_feed(corpus / "feed.jsonl", range(6))
    (corpus / "drafts").mkdir()
    write_feed(corpus / "drafts" / "draft.jsonl", range(100, 102))  # excluded by the job file
    cfg = load_config(job_file(tmp_path, corpus))
    store = make_store()
    runner = JobRunner(store, embedder)
    first = runner.run(cfg)
    assert (first.status, first.added, first.deleted, first.failed) == ("ok", 11, 0, 0)
    assert_store_equals(store, expected(corpus))

    calls = embedder.calls
    again = runner.run(cfg)
    assert (again.added, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 11) and embedder.calls == calls

    f = next(corpus.glob("003_*.txt"))
    f.write_text(f.read_text(encoding="utf-8") + "\nوأعلن الكرملين عن زيارة مرتقبة لوفد من طاجيكستان.", encoding="utf-8")
    next(corpus.glob("004_*.txt")).unlink()
    write_feed(feed, range(1, 7))  # gen-0 gone from the file, gen-6 new, gen-1..5 unchanged
    (corpus / "new.txt").write_text("خبر جديد\nافتتاح مطار جديد في مدينة نواكشوط", encoding="utf-8")
    calls = embedder.calls
    rec = runner.run(cfg)
    assert (rec.added, rec.updated, rec.deleted, rec.unchanged, rec.failed) == (2, 1, 2, 8, 0)
    changed = [a for a in iter_articles([f, corpus / "new.txt"]) if isinstance(a, Article)]
    gen6 = [a for a in iter_articles([feed]) if isinstance(a, Article) and a.id == "gen-6"]
    assert embedder.calls - calls == sum(len(passages(a)) for a in changed + gen6)  # exactly the changed ones
    assert_store_equals(store, expected(corpus))
    assert keyword_ids(store, embedder, "نواكشوط") and keyword_ids(store, embedder, "طاجيكستان")
    assert keyword_ids(store, embedder, "رمز0000") == []  # the removed JSONL line is gone from search
    history = store.jobs(10)
    assert [r["mode"] for r in history] == ["incremental"] * 3 and all(r["status"] == "ok" for r in history)
    assert history[0]["deleted"] == 2 and history[0]["ended"] >= history[0]["started"]


def test_unreadable_input_never_deletes_what_was_indexed(
    make_store: Callable[..., Store], corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    feed = write_feed(corpus / "feed.jsonl", range(4))
    cfg = load_config(job_file(tmp_path, corpus))
    store = make_store()
    runner = JobRunner(store, embedder)
    assert runner.run(cfg).added == 9
    feed.write_text(feed.read_text(encoding="utf-8").replace('"gen-2"', '"gen-2" broken', 1), encoding="utf-8")
    f = next(corpus.glob("002_*.txt"))
    f.write_bytes(b"\x00\x01binary now")
    rec = runner.run(cfg)
    assert rec.status == "partial" and rec.failed == 2 and rec.deleted == 0 and rec.kept_unreadable == 2
    assert any("feed.jsonl:3: invalid JSON" in e for e in rec.errors) and any("NUL" in e for e in rec.errors)
    assert store.info().articles == 9  # the 4 feed articles and the broken .txt are all still there
    moved = tmp_path / "elsewhere"
    corpus.rename(moved)  # a source that vanished (unmounted disk) is an error, not an order to delete
    rec = runner.run(cfg)
    assert rec.status == "partial" and rec.deleted == 0 and rec.kept_unreadable == 9 and store.info().articles == 9
    assert "no such file or directory" in rec.errors[0]


def test_full_rebuild_keeps_search_answering_then_rolls_back(
    make_store: Callable[..., Store], corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    cfg = load_config(job_file(tmp_path, corpus))
    store = make_store()
    runner = JobRunner(store, embedder)
    runner.run(cfg)
    reader = SearchService(make_store(read_only=True), embedder)
    write_feed(corpus / "feed.jsonl", range(12))
    with Searching(reader, "روسيا") as searching:
        rec = runner.run(cfg, full=True)
    assert searching.errors == [] and len(searching.totals) > 5 and set(searching.totals) == {5}  # never a half index
    record_reliability(
        f"full rebuild under load ({store.backend})",
        "a reader searching all through a full rebuild and the switch",
        f"{len(searching.totals)} searches during a {rec.seconds}s rebuild, {len(searching.errors)} errors, "
        "every answer from one whole generation",
    )
    assert (rec.mode, rec.status, rec.added, rec.switched) == ("full", "ok", 17, True)
    gens = store.generations()
    assert [g.active for g in gens] == [False, True] and gens[1].name == rec.generation
    assert keyword_ids(reader.store, embedder, "رمز0007") == ["gen-7"]  # the open reader follows the switch

    back = rollback(store)
    assert back.status == "ok" and back.generation == gens[0].name
    assert keyword_ids(reader.store, embedder, "رمز0007") == [] and reader.store.info().articles == 5
    assert [r["mode"] for r in store.jobs(5)][:2] == ["rollback", "full"]

    store.activate(gens[1].name)
    rec2 = runner.run(cfg, full=True)  # retention 1: the oldest generation goes
    assert rec2.switched and rec2.pruned == [gens[0].name]
    assert [g.name for g in store.generations()] == [gens[1].name, rec2.generation]


def test_a_killed_rebuild_is_never_rolled_back_to_and_is_pruned_first(
    make_store: Callable[..., Store], corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    """A full rebuild killed half-way left the newest inactive generation with a few articles:
    pruning kept it, dropping the complete ones, and ``rollback`` switched readers to it."""
    from archive.analysis import ANALYSIS_VERSION
    from archive.pipeline import Indexer

    write_feed(corpus / "feed.jsonl", range(15))
    cfg = load_config(job_file(tmp_path, corpus))
    store = make_store()
    runner = JobRunner(store, embedder)
    runner.run(cfg)
    first = store.generations()[0].name
    done = runner.run(cfg, full=True)
    # what a kill -9 in the middle of the next full rebuild leaves: a new generation, 2 articles in
    killed = store.new_generation(embedder.name, embedder.dim, ANALYSIS_VERSION)
    two = [a for a in iter_articles([corpus / "feed.jsonl"]) if isinstance(a, Article) and a.id in ("gen-1", "gen-2")]
    Indexer(killed, embedder, progress=False).run_items(two)
    if store.backend == "lancedb":  # and a directory named like a generation that is not one
        (store.root / "g0009").mkdir()
        (store.root / "g0009" / "notes.txt").write_text("not an index", encoding="utf-8")
    rec = runner.run(cfg, full=True)
    assert rec.switched and rec.pruned == [first, killed.target]  # retention 1: the newest complete one stays
    assert [g.name for g in store.generations()] == [done.generation, rec.generation]
    back = rollback(store)
    served = store.info().articles
    assert back.status == "ok" and back.generation == done.generation and served == 20
    if store.backend == "lancedb":
        assert (store.root / "g0009" / "notes.txt").exists() and rec.generation == "g0010"  # untouched, never reused
    store.activate(rec.generation)
    runner.run(cfg, full=True)
    assert rollback(store).generation == rec.generation  # a generation readers used stays a rollback target
    record_reliability(
        f"rollback after a killed rebuild ({store.backend})",
        "a full rebuild killed after 2 of 20 articles"
        + (" and a stray g0009 directory" if store.backend == "lancedb" else "")
        + ", a full rebuild, rollback",
        f"pruned {', '.join(rec.pruned)} (the killed one too); rollback to {back.generation}: {served} of 20 "
        "articles" + ("; the stray directory untouched" if store.backend == "lancedb" else ""),
    )


def test_an_analysis_version_change_forces_a_full_rebuild(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    cfg = load_config(job_file(tmp_path, corpus))
    store = open_store(tmp_path / "data", backend="lancedb")
    JobRunner(store, embedder).run(cfg)
    meta_file = store.path / "meta.json"
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps(dict(meta, analysis_version="0")))  # as built by an older release
    rec = JobRunner(store, embedder).run(cfg)
    assert rec.mode == "full" and rec.switched and "forced" in rec.message and "analysis_version" in rec.message
    assert store.meta()["analysis_version"] == meta["analysis_version"] and store.info().articles == 5
    other = tmp_path / "other"
    other.mkdir()
    write_feed(other / "feed.jsonl", range(2))
    two = config_from_paths([corpus, other])
    JobRunner(store, embedder).run(two)
    before = store.hashes()
    meta_file = store.path / "meta.json"
    meta_file.write_text(json.dumps(dict(json.loads(meta_file.read_text()), analysis_version="0")))
    with pytest.raises(ConfigError, match="without --source"):  # a rebuild from one source would drop the rest
        JobRunner(store, embedder).run(two, only=["other"])
    assert store.hashes() == before and len(store.generations()) == 2  # nothing was touched


def test_dry_run_counts_without_embedding_or_writing(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    cfg = load_config(job_file(tmp_path, corpus))
    store = open_store(tmp_path / "data", backend="lancedb")
    JobRunner(store, embedder).run(cfg)
    next(corpus.glob("000_*.txt")).unlink()
    write_feed(corpus / "feed.jsonl", range(3))
    calls = embedder.calls
    rec = JobRunner(store, embedder).run(cfg, dry_run=True)
    assert (rec.mode, rec.added, rec.deleted, rec.unchanged) == ("dry-run", 3, 1, 4)
    assert embedder.calls == calls and store.info().articles == 5


def test_a_second_job_is_locked_out(make_store: Callable[..., Store], corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    cfg = load_config(job_file(tmp_path, corpus))
    store = make_store()
    with store.lock("holder"):
        rec = JobRunner(make_store(), embedder).run(cfg)
        assert rec.status == "locked" and "another job" in rec.message and "holder" in rec.message
        with pytest.raises(StoreLocked):
            with make_store().lock("third"):
                pass
    assert JobRunner(store, embedder).run(cfg).status == "ok"  # released on exit
    assert [r["status"] for r in store.jobs(5)] == ["ok", "locked"]


def test_the_next_job_records_why_a_killed_one_stopped(
    make_store: Callable[..., Store], corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    """A killed job's record said 'running' in the history for ever (read back as 'interrupted'
    only while nobody held the lock), with no reason; the next job to take the lock records it."""
    from archive.jobs import JobRecord, _now

    store = make_store()
    for n, step in enumerate(
        (lambda: JobRunner(store, embedder).run(load_config(job_file(tmp_path, corpus))), lambda: rollback(store))
    ):
        dead = JobRecord(f"killed-{n}", "full", ["news"], _now(), message="full rebuild forced: x")
        store.record_job(dead.as_dict())  # what a job killed with -9 leaves: its 'running' record, no lock
        step()
        with store.lock("reader"):  # the stored records, as another job sees them
            stored = {r["id"]: r for r in store.jobs(10)}
        assert stored[dead.id]["status"] == "interrupted"
        assert stored[dead.id]["message"].startswith("full rebuild forced: x; the process (pid ")
        assert "ended without finishing" in stored[dead.id]["message"]
        assert [r["status"] for r in stored.values()].count("running") == 0
    record_reliability(
        f"killed job's record ({store.backend})",
        "a job's 'running' record left by kill -9, then a reindex; again, then a rollback",
        "each recorded as interrupted, with pid, host and the job that found it",
    )


def test_config_errors_name_the_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sources]]\nname = "a"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml: sources\[1\]\.path: missing"):
        load_config(bad)
    bad.write_text('retention = -1\n[[sources]]\npath = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml: retention"):
        load_config(bad)
    bad.write_text('[[sources]]\npath = "x"\n[[sources]]\npath = "y/x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unique.*repeated: x"):
        load_config(bad)
    bad.write_text("[[sources]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    bad.write_text('[schedule]\nevery = "soon"\n[[sources]]\npath = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="schedule.every.*not a duration"):
        load_config(bad)
    assert config_from_paths([ROOT / "seeds"]).sources[0].name == "seeds"
    example = load_config(ROOT / "jobs.example.toml")  # the README's example is a valid job file
    assert [(s.name, s.path) for s in example.sources] == [("seeds", ROOT / "seeds")]
    assert example.every == "1h" and example.store["data_dir"] == str(ROOT / "data")


# ---------------------------------------------------------------------------- real processes
def _cli(*args: str, data: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    full = dict(os.environ, ARCHIVE_DATA_DIR=str(data), **(env or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "indexer", *args], cwd=ROOT, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("backend", ["lancedb", "elasticsearch"])
def test_sigkill_mid_reindex_then_rerun_leaves_the_store_equal_to_the_sources(
    backend: str, corpus: Path, tmp_path: Path, cli_data: Path, embedder: Embedder, request: pytest.FixtureRequest
) -> None:
    write_feed(corpus / "feed.jsonl", range(80))
    extra = ""
    if backend == "elasticsearch":
        es: ESSettings = request.getfixturevalue("es_settings")
        extra = f'[store]\nbackend = "elasticsearch"\nes_url = "{es.url}"\nes_index = "{es.index}"\n'
        probe: Callable[[], Store] = lambda: ElasticStore(es)  # noqa: E731
    else:
        probe = lambda: open_store(cli_data, backend="lancedb")  # noqa: E731
    cfg = job_file(tmp_path, corpus, extra).as_posix()
    env = {"ES_LOCK_TTL": "2"}  # the killed job's lease runs out quickly
    proc = _cli("reindex", "--config", cfg, "--batch-size", "4", "--quiet", data=cli_data, env=env)

    def committed() -> int:
        try:
            store = probe()
            store.optimize() if backend == "elasticsearch" else None
            return len(store.hashes())
        except Exception:  # noqa: BLE001 - not created yet
            return 0

    _wait(lambda: committed() >= 12 or proc.poll() is not None, 240, "the first batches")
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = committed()
    assert 0 < partial < 85
    time.sleep(2.1 if backend == "elasticsearch" else 0)  # ES: the dead job's lease runs out
    assert probe().jobs(1)[0]["status"] == "interrupted"  # a running record with nobody holding the lock
    res = run_cli("reindex", "--config", cfg, "--quiet", "--json", data_dir=cli_data, env=env)
    assert res.returncode == 0, res.stderr
    rec = json.loads(res.stdout)
    assert rec["added"] + rec["unchanged"] + rec["updated"] == 85 and rec["unchanged"] >= partial - 4
    assert_store_equals(probe(), expected(corpus))
    killed = [r for r in probe().jobs(5) if r["id"] != rec["id"]]
    assert killed[0]["status"] == "interrupted" and "ended without finishing" in killed[0]["message"]  # recorded, with why
    record_reliability(
        f"kill -9 ({backend})",
        "SIGKILL in the middle of a reindex of 85 articles, then the same command again",
        f"{partial} committed before the kill, {rec['unchanged']} unchanged and {rec['added'] + rec['updated']} "
        "written by the re-run; store = sources (0 lost, 0 duplicated)",
    )


def test_cli_reindex_locked_exit_code_and_schedule_stops_cleanly(corpus: Path, tmp_path: Path, cli_data: Path) -> None:
    cfg = job_file(tmp_path, corpus).as_posix()
    store = open_store(cli_data, backend="lancedb")
    with store.lock("a-running-job"):
        res = run_cli("reindex", "--config", cfg, "--quiet", data_dir=cli_data)
    assert res.returncode == 4 and "another job is writing" in res.stderr and "a-running-job" in res.stderr

    proc = _cli("schedule", "--config", cfg, "--every", "2s", "--now", data=cli_data)
    _wait(lambda: sum(r["status"] == "ok" for r in store.jobs(20)) >= 2, 180, "two scheduled runs")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "scheduled reindex (every 2s)" in out and "finishing the running job" in err
    runs = sorted((r["started"], r["ended"]) for r in store.jobs(20) if r["mode"] == "incremental")
    assert len(runs) >= 2 and all(a[1] <= b[0] for a, b in zip(runs, runs[1:], strict=False))  # never overlapping
    assert store.jobs(20)[-1]["status"] == "locked"

    res = run_cli("jobs", data_dir=cli_data)
    assert res.returncode == 0 and "incremental" in res.stdout and "locked" in res.stdout
    res = run_cli("status", data_dir=cli_data)
    assert "last job" in res.stdout and "incremental" in res.stdout
    res = run_cli("reindex", "--config", cfg, str(corpus), data_dir=cli_data)
    assert res.returncode == 2 and "either --config" in res.stderr


def test_a_job_file_source_names_the_publisher_of_its_articles(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    (corpus / "feed.jsonl").write_text(
        json.dumps({"id": "own", "body": "نص بلا مصدر"}, ensure_ascii=False)
        + "\n"
        + json.dumps({"id": "wire", "body": "نص", "source": "رويترز"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    job = tmp_path / "job.toml"
    job.write_text(f'[[sources]]\nname = "mine"\npath = "{corpus}"\npublisher = "هسبريس"\n', encoding="utf-8")
    cfg = load_config(job)
    assert cfg.sources[0].publisher == "هسبريس"
    store = open_store(tmp_path / "data", backend="lancedb")
    assert JobRunner(store, embedder).run(cfg).status == "ok"
    got = store.get(["own", "wire"], text=False)
    assert got["own"].source == "هسبريس" and got["wire"].source == "رويترز"  # the record's own source wins
    job.write_text(f'[[sources]]\npath = "{corpus}"\npublisher = 3\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources\[1\]\.publisher: expected a string"):
        load_config(job)
