"""Indexing time for seeds/ and query latency per mode on that index (embedded store).

Builds a fresh index in a temp dir with the real pipeline, then runs each query of a fixed
Arabic + English set 10 times per mode and reports p50/p95 (query embedding included).

    python bench/seeds_latency.py [--out bench/results/seeds_latency.json]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from metrics import write_report  # noqa: E402

from archive.embeddings import Embedder  # noqa: E402
from archive.model import MODES  # noqa: E402
from archive.pipeline import Indexer  # noqa: E402
from archive.search import SearchService  # noqa: E402
from archive.store import open_store  # noqa: E402

QUERIES = [
    "الجيش السوري",
    "قاعدة همدان الجوية",
    '"حزب الله" -داعش',
    "روسيا OR إيران",
    "سوري*",
    "شمخانى",
    "Russia and Iran joint military headquarters in Syria",
    "Soleimani visit to Moscow",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="bench/results/seeds_latency.json")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        t0 = time.perf_counter()
        embedder = Embedder()
        load_s = time.perf_counter() - t0
        store = open_store(data)
        report = Indexer(store, embedder, progress=False).run([ROOT / "seeds"])
        svc = SearchService(open_store(data, read_only=True), embedder)
        svc.search("تسخين", mode="hybrid")  # warm caches once
        out: dict = {
            "machine": platform.platform(),
            "model_load_s": round(load_s, 2),
            "index_seeds_s": round(report.seconds, 2),
            "passages": report.passages,
            "modes": {},
        }
        print(f"model load {load_s:.1f}s; indexed 5 seeds ({report.passages} passages) in {report.seconds:.2f}s")
        for mode in MODES:
            times = []
            for _ in range(args.repeat):
                for q in QUERIES:
                    t = time.perf_counter()
                    svc.search(q, mode=mode)
                    times.append((time.perf_counter() - t) * 1000)
            times.sort()
            p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
            out["modes"][mode] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "queries": len(times)}
            print(f"{mode:9} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   ({len(times)} queries)")
    write_report(args.out, out)


if __name__ == "__main__":
    main()
