"""The warm command line and the HTTP API: what a user waits for per query, and how many queries
a server answers.

1. Model load, cold, in fresh processes, for both built-in encoders (int8 ONNX on onnxruntime;
   torch fp32 through sentence-transformers): imports, loading the materialized model (tokenizer
   and weights), the first query.
2. ``python -m indexer search`` in hybrid mode on seeds/: cold (the model loaded in the process)
   against warm (``--api``: a running ``serve`` answers), alternating, medians and their ratio.
3. API throughput, hybrid: queries/s and latency at 1 and 4 concurrent clients, on seeds/ and on
   bench/speed.py's synthetic archive (``--articles``; its vectors are synthetic, the queries are
   embedded by the real model, so the work per query is the product's).

    python bench/api.py [--articles 100000] [--cli-runs 5] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from metrics import write_report  # noqa: E402

from archive.config import BUILTIN_MODELS  # noqa: E402

PY = sys.executable
QUERY = "الجيش السوري في حلب"
QUERIES = ["حلب", "الجيش السوري", "روسيا وإيران", "المعارضة المسلحة", "war in Syria", "المدنيين", "الحصار", "مجلس الأمن"]

LOAD = """
import json, sys, time
t0 = time.perf_counter()
from archive.embeddings import Embedder
t1 = time.perf_counter(); e = Embedder(sys.argv[1]); t2 = time.perf_counter()
e.queries(["حلب"]); t3 = time.perf_counter()
parts = {"import": t1 - t0, "load_model": t2 - t1, "first_query": t3 - t2, "total": t3 - t0}
print(json.dumps(dict(parts, torch_imported=float("torch" in sys.modules))))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(data: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [PY, "-m", "indexer", "serve", "--data-dir", str(data), "--port", str(port), "--quiet"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/v1/status", timeout=5).read()
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"serve failed: {proc.stderr.read() if proc.stderr else ''}") from None
            time.sleep(0.2)
    raise SystemExit("serve did not start in 300 s")


def ask(url: str, q: str) -> float:
    t0 = time.perf_counter()
    urllib.request.urlopen(f"{url}/v1/search?{urllib.parse.urlencode({'q': q})}", timeout=300).read()
    return time.perf_counter() - t0


def throughput(url: str, clients: int, seconds: float) -> dict:
    """Each client asks the queries in turn for ``seconds``; every answer's latency kept."""
    for q in QUERIES:  # warm: first encodings, first table reads
        ask(url, q)
    lat: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(k: int) -> None:
        i = k
        while time.monotonic() < stop:
            t = ask(url, QUERIES[i % len(QUERIES)])
            with lock:
                lat.append(t)
            i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {
        "clients": clients,
        "queries": len(lat),
        "queries_per_s": round(len(lat) / wall, 2),
        "p50_ms": round(float(np.percentile(lat, 50)) * 1000, 1),
        "p95_ms": round(float(np.percentile(lat, 95)) * 1000, 1),
    }


def cli(data: Path, *extra: str) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(
        [PY, "-m", "indexer", "search", QUERY, "--data-dir", str(data), *extra], cwd=ROOT, capture_output=True, text=True
    )
    if res.returncode != 0:
        raise SystemExit(res.stderr)
    return time.perf_counter() - t0


def synthetic_archive(n: int, where: Path) -> Path:
    from speed import CENTRES, DIM, build, synthetic, vocabulary

    from archive.analysis import ANALYSIS_VERSION
    from archive.config import model_name
    from archive.store.lance import LanceStore

    rng = np.random.default_rng(7)
    centres = rng.normal(size=(CENTRES, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    store = LanceStore(where / "lancedb")
    store.check_compatible(model_name(), DIM, ANALYSIS_VERSION)  # queries come from the real (default) model
    build(store, synthetic(n, 5000, 7, vocabulary(), centres))
    return where


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=100_000, help="synthetic archive size for throughput (0: skip)")
    ap.add_argument("--cli-runs", type=int, default=5, help="cold and warm command lines, alternating")
    ap.add_argument("--seconds", type=float, default=20.0, help="per throughput measurement")
    ap.add_argument("--out", default="bench/results/api.json")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    report: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    try:
        report["model_load_s"] = {}
        for model in BUILTIN_MODELS:  # alternating, so that the machine's noise falls on both
            report["model_load_s"][model] = []
        for _ in range(3):
            for model in BUILTIN_MODELS:
                run = subprocess.run([PY, "-c", LOAD, model], cwd=ROOT, capture_output=True, text=True, check=True)
                report["model_load_s"][model].append(json.loads(run.stdout))
        for model, loads in report["model_load_s"].items():
            report["model_load_s"][model] = {k: round(statistics.median(d[k] for d in loads), 2) for k in loads[0]}
            print(f"{model} load, median of 3 fresh processes (s):", report["model_load_s"][model])

        seeds = tmp / "seeds"
        subprocess.run(
            [PY, "-m", "indexer", "index", str(ROOT / "seeds"), "--data-dir", str(seeds), "--quiet"], cwd=ROOT, check=True
        )
        proc, url = serve(seeds)
        try:
            cold, warm = [], []
            for _ in range(args.cli_runs):
                cold.append(cli(seeds, "--no-api"))
                warm += [cli(seeds, "--api", url) for _ in range(3)]
            report["cli_search_s"] = {
                "cold_p50": round(statistics.median(cold), 3),
                "warm_p50": round(statistics.median(warm), 3),
                "ratio": round(statistics.median(cold) / statistics.median(warm), 1),
                "runs": {"cold": len(cold), "warm": len(warm)},
            }
            print("CLI search, hybrid, seeds (s):", report["cli_search_s"])
            report["throughput_seeds"] = [throughput(url, c, args.seconds) for c in (1, 4)]
            print("API throughput, hybrid, seeds:", report["throughput_seeds"])
        finally:
            proc.terminate()
            proc.wait(30)
        if args.articles:
            t0 = time.perf_counter()
            big = synthetic_archive(args.articles, tmp / "big")
            print(f"built {args.articles:,} synthetic articles in {time.perf_counter() - t0:.0f} s")
            proc, url = serve(big)
            try:
                report[f"throughput_{args.articles}"] = [throughput(url, c, args.seconds) for c in (1, 4)]
                print(f"API throughput, hybrid, {args.articles:,} articles:", report[f"throughput_{args.articles}"])
            finally:
                proc.terminate()
                proc.wait(30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_report(args.out, report)


if __name__ == "__main__":
    main()
