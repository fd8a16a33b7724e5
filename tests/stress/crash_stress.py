"""Crash stress (the long variant of the kill -9 tests): for each run, change the sources (edit,
delete and add articles), start ``reindex``, SIGKILL it at a random moment (fixed seeds), run it
again to completion, and check the store equals the sources: 0 lost, 0 duplicated, 0
half-written (every article's passages and vectors match its live version).

    python tests/stress/crash_stress.py [--runs 20] [--backend lancedb|elasticsearch|both]

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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from archive.config import ESSettings  # noqa: E402
from archive.store import open_store  # noqa: E402
from archive.store.base import Store  # noqa: E402
from archive.store.elastic import ElasticStore  # noqa: E402
from tests.conftest import ARTIFACTS, record_reliability  # noqa: E402
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
    for key in zip(pas["article_id"].to_pylist(), pas["content_hash"].to_pylist()):
        counts[key] = counts.get(key, 0) + 1
    return sum(1 for i, h, n in zip(arts["id"].to_pylist(), arts["content_hash"].to_pylist(), arts["n_passages"].to_pylist())
               if counts.get((i, h), 0) != n)


def run_backend(backend: str, runs: int, seed: int, work: Path) -> list[dict]:
    corpus = work / backend / "corpus"
    shutil.copytree(ROOT / "seeds", corpus)
    rng = random.Random(seed)
    (corpus / "feed.jsonl").write_text("".join(
        json.dumps({"id": f"gen-{i}", "title": f"خبر {i}", "body": " ".join(rng.choice(WORDS) for _ in range(150))},
                   ensure_ascii=False) + "\n" for i in range(40)), encoding="utf-8")
    data = work / backend / "data"
    data.mkdir(parents=True)
    (data / "models").symlink_to((ROOT / "data" / "models").resolve(), target_is_directory=True)
    server, extra = None, ""
    if backend == "elasticsearch":
        server = NoidaServer(work / backend)
        extra = f'[store]\nbackend = "elasticsearch"\nes_url = "{server.url}"\nes_index = "stress"\n'

        def probe() -> Store:
            return ElasticStore(ESSettings(url=server.url, index="stress"))
    else:
        def probe() -> Store:
            return open_store(data, backend="lancedb")
    cfg = str(job_file(work / backend, corpus, extra))
    env = dict(os.environ, ARCHIVE_DATA_DIR=str(data), ES_LOCK_TTL="2")
    cmd = [sys.executable, "-m", "indexer", "reindex", "--config", cfg, "--batch-size", "4", "--quiet", "--json"]
    results = []
    next_id = [40]
    try:
        for run in range(runs):
            r = random.Random(seed * 1000 + run)
            mutate(corpus, r, next_id)
            jobs_before = len(probe().jobs(1000)) if run else 0
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and proc.poll() is None:  # until the job has begun writing
                try:
                    if len(probe().jobs(1000)) > jobs_before:
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
            if backend == "elasticsearch":
                time.sleep(2.1)  # the dead job's lease runs out
            done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
            rec = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
            store = probe()
            store.optimize()
            want = expected(corpus)
            got = store.hashes()
            lost = len(set(want) - set(got))
            extra_ids = len(set(got) - set(want))
            stale = sum(1 for k in set(want) & set(got) if got[k][0] != want[k][0])
            info = store.info()
            row = {
                "backend": backend, "run": run, "killed_after_s": round(delay, 2) if killed else None,
                "rerun_exit": done.returncode, "rerun_written": rec.get("added", 0) + rec.get("updated", 0),
                "rerun_deleted": rec.get("deleted", 0), "articles": len(want), "lost": lost, "extra": extra_ids,
                "stale": stale, "duplicated": info.articles - len(got),
                "passages_expected": sum(n for _, n in want.values()), "passages_stored": info.passages,
                "half_written": half_written(store),
            }
            row["ok"] = (done.returncode == 0 and lost == extra_ids == stale == row["duplicated"] == row["half_written"] == 0
                         and row["passages_expected"] == row["passages_stored"])
            print(json.dumps(row, ensure_ascii=False), flush=True)
            results.append(row)
    finally:
        if server:
            server.stop()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--backend", choices=("lancedb", "elasticsearch", "both"), default="both")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    backends = ("lancedb", "elasticsearch") if args.backend == "both" else (args.backend,)
    with tempfile.TemporaryDirectory(prefix="crash-stress-") as tmp:
        rows = [row for b in backends for row in run_backend(b, args.runs, args.seed, Path(tmp))]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "crash_stress.json").write_text(json.dumps(rows, indent=2))
    for b in backends:
        mine = [r for r in rows if r["backend"] == b]
        killed = sum(1 for r in mine if r["killed_after_s"] is not None)
        bad = [r["run"] for r in mine if not r["ok"]]
        lost = sum(r["lost"] for r in mine)
        dup = sum(r["duplicated"] + r["extra"] for r in mine)
        half = sum(r["half_written"] for r in mine)
        print(f"{b}: {len(mine)} runs, {killed} killed mid-job, failing runs {bad or 'none'}; lost {lost}, "
              f"duplicated {dup}, half-written {half}")
        record_reliability(f"kill -9 stress ({b})",
                           f"{len(mine)} runs (seed {args.seed}): edit/delete/add, reindex, SIGKILL at a random moment, re-run",
                           f"{killed} killed mid-job; {len(mine) - len(bad)}/{len(mine)} runs equal to the sources; "
                           f"lost {lost}, duplicated {dup}, half-written {half}")
    sys.exit(1 if any(not r["ok"] for r in rows) else 0)


if __name__ == "__main__":
    main()
