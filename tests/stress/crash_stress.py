"""Crash stress (the long variant of the kill -9 tests), two scenarios with fixed seeds.

reindex: for each run, change the sources (edit, delete and add articles), start ``reindex``,
SIGKILL it at a random moment, run it again to completion, and check the store equals the
sources: 0 lost, 0 duplicated, 0 half-written (every article's passages and vectors match its
live version).

rebuild: for each run, change the sources, start ``reindex --full`` and SIGKILL it at a random
moment, run ``reindex --full`` to completion, then ``rollback``; a reader counts the articles
it is served all along. The rebuild must equal the sources, the rollback target must be a
complete generation holding what it held when verified (never the killed one), and the reader
must only ever see a whole generation.

    python tests/stress/crash_stress.py [--runs 20] [--backend lancedb|elasticsearch|both]
                                        [--scenario reindex|rebuild|both]

Prints a table and writes test-artifacts/crash_stress.json plus rows for docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from archive.config import ESSettings  # noqa: E402
from archive.store import open_store  # noqa: E402
from archive.store.base import Generation, Store  # noqa: E402
from archive.store.elastic import ElasticStore  # noqa: E402
from tests.conftest import ARTIFACTS, Reading, record_reliability  # noqa: E402
from tests.es_server import NoidaServer  # noqa: E402
from tests.test_jobs import WORDS, expected, job_file  # noqa: E402


def mutate(corpus: Path, rng: random.Random, next_id: list[int]) -> None:
    """Edit eight articles, drop two, add eight (JSONL), so every run has updates, deletes and adds."""
    feed = corpus / "feed.jsonl"
    lines = [json.loads(x) for x in feed.read_text(encoding="utf-8").splitlines() if x.strip()]
    for rec in rng.sample(lines, min(8, len(lines))):
        rec["body"] += " " + " ".join(rng.choice(WORDS) for _ in range(8))
    for _ in range(2):
        if len(lines) > 10:
            lines.pop(rng.randrange(len(lines)))
    for _ in range(8):
        i = next_id[0]
        next_id[0] += 1
        lines.append({"id": f"gen-{i}", "title": f"خبر {i}", "body": " ".join(rng.choice(WORDS) for _ in range(150))})
    feed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8")


def half_written(store: Store) -> int:
    """Articles whose stored passages do not match their live version (LanceDB: rows of the
    passages table; Elasticsearch: the nested passages of the one document)."""
    if isinstance(store, ElasticStore):
        bad = 0
        for aid in store.hashes():
            doc = store.es.get(index=store.alias, id=aid, source=["n_passages", "passages.n"])["_source"]
            bad += len(doc.get("passages", [])) != doc["n_passages"]
        return bad
    arts = store._columns(store._require("articles"), ["id", "content_hash", "n_passages"])  # type: ignore[attr-defined]  # noqa: SLF001
    pas = store._columns(store._require("passages"), ["article_id", "content_hash"])  # type: ignore[attr-defined]  # noqa: SLF001
    counts: dict[tuple[str, str], int] = {}
    for key in zip(pas["article_id"].to_pylist(), pas["content_hash"].to_pylist(), strict=False):
        counts[key] = counts.get(key, 0) + 1
    return sum(
        1
        for i, h, n in zip(arts["id"].to_pylist(), arts["content_hash"].to_pylist(), arts["n_passages"].to_pylist(), strict=False)
        if counts.get((i, h), 0) != n
    )


@dataclass
class Bench:
    """One backend under test: its sources, the reindex command and a fresh view of its store."""

    backend: str
    corpus: Path
    cmd: list[str]  # reindex with the job file
    store_args: list[str]  # where the store is, for commands without a job file
    env: dict[str, str]
    probe: Callable[[], Store]

    def run(self, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.cmd, *extra], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=900)

    def rollback(self) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "indexer", "rollback", *self.store_args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def kill_midway(self, r: random.Random, began: Callable[[], bool], *extra: str) -> float | None:
        """Start the command, wait until ``began()``, SIGKILL it a random 0-2 s later; the delay,
        or None when it had finished before the kill."""
        proc = subprocess.Popen([*self.cmd, *extra], cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if began():
                    break
            except Exception:  # noqa: BLE001 - the index does not exist yet
                pass
            time.sleep(0.05)
        delay = r.uniform(0.0, 2.0)
        time.sleep(delay)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        if self.backend == "elasticsearch":
            time.sleep(2.1)  # the dead job's lease runs out
        return round(delay, 2) if killed else None


@contextmanager
def bench(backend: str, seed: int, work: Path) -> Iterator[Bench]:
    """Sources of 40 generated articles plus seeds/, an empty store, and (ES) a noida-db server."""
    corpus = work / backend / "corpus"
    shutil.copytree(ROOT / "seeds", corpus)
    rng = random.Random(seed)
    (corpus / "feed.jsonl").write_text(
        "".join(
            json.dumps(
                {"id": f"gen-{i}", "title": f"خبر {i}", "body": " ".join(rng.choice(WORDS) for _ in range(150))},
                ensure_ascii=False,
            )
            + "\n"
            for i in range(40)
        ),
        encoding="utf-8",
    )
    data = work / backend / "data"
    data.mkdir(parents=True)
    server, extra, store_args = None, "", ["--backend", backend]
    if backend == "elasticsearch":
        server = NoidaServer(work / backend)
        extra = f'[store]\nbackend = "elasticsearch"\nes_url = "{server.url}"\nes_index = "stress"\n'
        store_args += ["--es-url", server.url, "--es-index", "stress"]

        def probe() -> Store:
            return ElasticStore(ESSettings(url=server.url, index="stress"))
    else:

        def probe() -> Store:
            return open_store(data, backend="lancedb")

    cfg = str(job_file(work / backend, corpus, extra))
    env = dict(os.environ, ARCHIVE_DATA_DIR=str(data), ES_LOCK_TTL="2")
    try:
        yield Bench(
            backend,
            corpus,
            [sys.executable, "-m", "indexer", "reindex", "--config", cfg, "--batch-size", "4", "--quiet", "--json"],
            store_args,
            env,
            probe,
        )
    finally:
        if server:
            server.stop()


def _record(done: subprocess.CompletedProcess) -> dict:
    return json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}


def run_backend(backend: str, runs: int, seed: int, work: Path) -> list[dict]:
    """The reindex scenario: edit/delete/add, reindex killed at a random moment, re-run."""
    results = []
    next_id = [40]
    with bench(backend, seed, work) as b:
        for run in range(runs):
            r = random.Random(seed * 1000 + run)
            mutate(b.corpus, r, next_id)
            jobs_before = len(b.probe().jobs(1000)) if run else 0
            delay = b.kill_midway(
                r, lambda before=jobs_before: len(b.probe().jobs(1000)) > before
            )  # until the job has begun writing
            done = b.run()
            rec = _record(done)
            store = b.probe()
            store.optimize()
            want = expected(b.corpus)
            got = store.hashes()
            lost = len(set(want) - set(got))
            extra_ids = len(set(got) - set(want))
            stale = sum(1 for k in set(want) & set(got) if got[k][0] != want[k][0])
            info = store.info()
            row = {
                "backend": backend,
                "run": run,
                "killed_after_s": delay,
                "rerun_exit": done.returncode,
                "rerun_written": rec.get("added", 0) + rec.get("updated", 0),
                "rerun_deleted": rec.get("deleted", 0),
                "articles": len(want),
                "lost": lost,
                "extra": extra_ids,
                "stale": stale,
                "duplicated": info.articles - len(got),
                "passages_expected": sum(n for _, n in want.values()),
                "passages_stored": info.passages,
                "half_written": half_written(store),
            }
            row["ok"] = (
                done.returncode == 0
                and lost == extra_ids == stale == row["duplicated"] == row["half_written"] == 0
                and row["passages_expected"] == row["passages_stored"]
            )
            print(json.dumps(row, ensure_ascii=False), flush=True)
            results.append(row)
    return results


def _partial(store: Store, known: set[str]) -> list[Generation]:
    """The generations made since ``known`` was taken, counted (ES: refreshed first, a rebuild
    writes with refresh off)."""
    new = [g.name for g in store.generations() if g.name not in known]
    if isinstance(store, ElasticStore):
        for name in new:
            ElasticStore(store.settings, client=store.es, target=name).optimize()
    return [g for g in store.generations() if g.name in new]


def _active(store: Store) -> str:
    return next(g.name for g in store.generations() if g.active)


def run_rebuild_backend(backend: str, runs: int, seed: int, work: Path) -> list[dict]:
    """The rebuild scenario: edit/delete/add, a full rebuild killed at a random moment, another
    full rebuild, then rollback. The rollback target must be a complete generation (equal to what
    it held when it was verified), never the killed one, and a reader must see only whole ones."""
    results = []
    next_id = [40]
    with bench(backend, seed, work) as b:
        first = b.run()
        assert first.returncode == 0, first.stderr
        complete = {_active(b.probe()): b.probe().hashes()}  # generation -> its verified contents
        for run in range(runs):
            r = random.Random(seed * 1000 + run)
            mutate(b.corpus, r, next_id)
            known = {g.name for g in b.probe().generations()}
            served = b.probe()
            with Reading(lambda store=served: store.info().articles, pause=0.05) as reader:  # a reader counting what it is served
                delay = b.kill_midway(r, lambda old=known: any(g.articles for g in _partial(b.probe(), old)), "--full")
                killed = _partial(b.probe(), known)  # the new generation, from its first written batch on
                done = b.run("--full")
                rec = _record(done)
                store = b.probe()
                want = expected(b.corpus)
                rebuilt_ok = (
                    done.returncode == 0
                    and rec.get("switched")
                    and {k: v[0] for k, v in store.hashes().items()} == {k: v[0] for k, v in want.items()}
                )
                if rebuilt_ok:
                    complete[rec["generation"]] = store.hashes()
                back = b.rollback()
                target = back.stdout.strip().rsplit(" ", 1)[-1]
            store = b.probe()
            row = {
                "backend": backend,
                "run": run,
                "killed_after_s": delay,
                "killed_generation": [(g.name, g.articles) for g in killed],
                "rebuild_exit": done.returncode,
                "pruned": rec.get("pruned"),
                "rollback_exit": back.returncode,
                "rolled_back_to": target,
                "target_complete": target in complete and store.hashes() == complete.get(target),
                "reader_samples": len(reader.totals),
                "reader_errors": len(reader.errors),
                "reader_partial": sum(1 for c in reader.totals if c not in {len(h) for h in complete.values()}),
            }
            row["ok"] = bool(
                rebuilt_ok
                and back.returncode == 0
                and row["target_complete"]
                and target not in {g.name for g in killed}
                and not reader.errors
                and not row["reader_partial"]
            )
            print(json.dumps(row, ensure_ascii=False), flush=True)
            results.append(row)
    return results


def _summarize(rows: list[dict], backends: Sequence[str], seed: int) -> None:
    """Print each scenario's totals per backend and record them for docs/reliability.md."""
    for b in backends:
        mine = [r for r in rows if r["backend"] == b and r["scenario"] == "reindex"]
        if mine:
            killed = sum(1 for r in mine if r["killed_after_s"] is not None)
            bad = [r["run"] for r in mine if not r["ok"]]
            lost = sum(r["lost"] for r in mine)
            dup = sum(r["duplicated"] + r["extra"] for r in mine)
            half = sum(r["half_written"] for r in mine)
            print(
                f"{b} reindex: {len(mine)} runs, {killed} killed mid-job, failing runs {bad or 'none'}; lost {lost}, "
                f"duplicated {dup}, half-written {half}"
            )
            record_reliability(
                f"kill -9 stress ({b})",
                f"{len(mine)} runs (seed {seed}): edit/delete/add, reindex, SIGKILL at a random moment, re-run",
                f"{killed} killed mid-job; {len(mine) - len(bad)}/{len(mine)} runs equal to the sources; "
                f"lost {lost}, duplicated {dup}, half-written {half}",
            )
        mine = [r for r in rows if r["backend"] == b and r["scenario"] == "rebuild"]
        if mine:
            killed = sum(1 for r in mine if r["killed_after_s"] is not None)
            partial = sum(1 for r in mine if any(0 < n for _, n in r["killed_generation"]))
            bad = [r["run"] for r in mine if not r["ok"]]
            complete = sum(1 for r in mine if r["target_complete"])
            samples, seen_partial = sum(r["reader_samples"] for r in mine), sum(r["reader_partial"] for r in mine)
            print(
                f"{b} rebuild: {len(mine)} runs, {killed} killed mid-rebuild ({partial} with articles written), "
                f"failing runs {bad or 'none'}; rollback to a complete generation {complete}/{len(mine)}; "
                f"reader: {samples} samples, {seen_partial} of a half-built generation"
            )
            record_reliability(
                f"kill -9 rebuild stress ({b})",
                f"{len(mine)} runs (seed {seed}): edit/delete/add, full rebuild SIGKILLed at a random moment, "
                "full rebuild, rollback, a reader counting articles throughout",
                f"{killed} killed mid-rebuild ({partial} with articles written); {len(mine) - len(bad)}/{len(mine)} "
                f"runs ok: rollback to a complete generation {complete}/{len(mine)}, never the killed one; "
                f"reader {samples} samples, {seen_partial} from a half-built generation",
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--backend", choices=("lancedb", "elasticsearch", "both"), default="both")
    ap.add_argument("--scenario", choices=("reindex", "rebuild", "both"), default="both")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    backends = ("lancedb", "elasticsearch") if args.backend == "both" else (args.backend,)
    scenarios = {"reindex": run_backend, "rebuild": run_rebuild_backend}
    chosen = list(scenarios) if args.scenario == "both" else [args.scenario]
    with tempfile.TemporaryDirectory(prefix="crash-stress-") as tmp:
        rows = [
            dict(row, scenario=name)
            for name in chosen
            for b in backends
            for row in scenarios[name](b, args.runs, args.seed, Path(tmp) / name)
        ]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "crash_stress.json").write_text(json.dumps(rows, indent=2))
    _summarize(rows, backends, args.seed)
    sys.exit(1 if any(not r["ok"] for r in rows) else 0)


if __name__ == "__main__":
    main()
