"""Research views at scale on the embedded store: attention over time and top terms of a query
matching about 10 % of the archive (p50/p95 over repeated calls, plus the first top-terms call,
which reads the background sample), and the full export of two result sets of different sizes,
each in its own process, so peak memory can be compared: it must not grow with the result size.

The archive is bench/speed.py's synthetic one (real Arabic words with Zipf frequencies, one
passage per article, 20 sources, 25 years); queries are single words chosen by their exact
number of matches.

    python bench/research.py --articles 100000 [--repeat 30]
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from metrics import write_report  # noqa: E402
from speed import CENTRES, DIM, FixedVector, build, pct, synthetic, vocabulary  # noqa: E402

from archive import export  # noqa: E402
from archive.analysis import ANALYSIS_VERSION, default_analyzer  # noqa: E402
from archive.search import Hit, SearchService  # noqa: E402
from archive.store.base import Filters  # noqa: E402
from archive.store.lance import LanceStore  # noqa: E402

MODEL = "synthetic"


def rss_mb() -> float:
    """The resident set now (the peak of the process includes opening the index)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pick_words(svc: SearchService, vocab: list[str], n: int, shares: list[float]) -> dict[float, tuple[str, int]]:
    """For each wanted share of the archive, the frequent word whose exact match count is closest."""
    counts = {}
    for w in vocab[:400]:
        tree = svc.parse(w).tree
        if tree is not None:
            counts[w] = svc.store.tally(tree, Filters()).total
    return {s: min(counts.items(), key=lambda kv: abs(kv[1] - s * n)) for s in shares}


class Discard(io.StringIO):
    def write(self, text: str) -> int:
        return len(text)


def child_export(root: str, word: str) -> None:
    """One export in a fresh process: every id once, and the peak memory before and after it."""
    svc = SearchService(LanceStore(Path(root), read_only=True), FixedVector(MODEL, DIM))
    res = svc.search(word, mode="keyword", page_size=1)
    before = rss_mb()
    t0 = time.perf_counter()
    ids: list[str] = []
    peak = before

    def hits() -> Iterator[Hit]:
        nonlocal peak
        for hit in svc.export(res):
            ids.append(hit.article.id)
            if len(ids) % 500 == 0:
                peak = max(peak, rss_mb())
            yield hit

    export.write(hits(), Discard(), "csv")  # the CLI's writer, to a sink that keeps nothing
    an = default_analyzer()
    print(
        json.dumps(
            {
                "matches": res.total,
                "exported": len(ids),
                "unique": len(set(ids)),
                "analyzer_memo": len(an._memo),
                "stemmer_memo": len(an.stemmer._memo),  # noqa: SLF001 - bounded caches
                "seconds": round(time.perf_counter() - t0, 2),
                "rss_before_mb": round(before, 1),
                "peak_rss_mb": round(peak, 1),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=None)
    ap.add_argument("--child-export", nargs=2, metavar=("ROOT", "WORD"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_export:
        child_export(*args.child_export)
        return
    rng = np.random.default_rng(args.seed)
    vocab = vocabulary()
    centres = rng.normal(size=(CENTRES, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    tmp = Path(tempfile.mkdtemp(prefix="research-"))
    store = LanceStore(tmp / "lancedb")
    store.check_compatible(MODEL, DIM, ANALYSIS_VERSION)
    _, timings = build(store, synthetic(args.articles, 5000, args.seed, vocab, centres))
    svc = SearchService(LanceStore(tmp / "lancedb", read_only=True), FixedVector(MODEL, DIM))
    words = pick_words(svc, vocab, args.articles, [0.1, 0.2, 0.4, 0.8])
    word, matches = words[0.1]
    print(f"query {word!r}: {matches:,} matches of {args.articles:,}")

    res = svc.search(word, mode="keyword")
    t0 = time.perf_counter()
    first_terms = svc.top_terms(res)
    cold_terms_s = time.perf_counter() - t0
    lat: dict[str, list[float]] = {"search": [], "timeline": [], "top_terms": []}
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = svc.search(word, mode="keyword")
        lat["search"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        svc.timeline(res)
        lat["timeline"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        top = svc.top_terms(res)
        lat["top_terms"].append(time.perf_counter() - t0)
    assert [t.stem for t in top.terms] == [t.stem for t in first_terms.terms]  # the background sample is reused

    exports = {}
    for share in (0.2, 0.4, 0.8):
        out = subprocess.run(
            [sys.executable, __file__, "--child-export", str(tmp / "lancedb"), words[share][0]],
            capture_output=True,
            text=True,
            check=True,
        )
        exports[f"{share:.0%}"] = json.loads(out.stdout.strip().splitlines()[-1])
    small, large = exports["20%"], exports["80%"]
    report = {
        "machine": platform.platform(),
        "articles": args.articles,
        "seed": args.seed,
        "repeat": args.repeat,
        **timings,
        "query": {"word": word, "matches": matches},
        "top_terms_first_call_ms": round(cold_terms_s * 1000, 1),
        "top_terms_described": top.describe(),
        "top_terms": [t.term for t in top.terms[:10]],
        "latency_ms": {k: {"p50": pct(v, 50), "p95": pct(v, 95)} for k, v in lat.items()},
        "export": exports,
        "export_peak_growth_mb": {k: round(v["peak_rss_mb"] - v["rss_before_mb"], 1) for k, v in exports.items()},
        "export_every_id_once": all(v["exported"] == v["unique"] == v["matches"] for v in exports.values()),
        "export_peak_ratio_large_over_small": round(large["peak_rss_mb"] / small["peak_rss_mb"], 3),
    }
    shutil.rmtree(tmp, ignore_errors=True)
    for k, v in report["latency_ms"].items():
        print(f"{k:12} p50 {v['p50']:8.2f} ms   p95 {v['p95']:8.2f} ms")
    print({k: v for k, v in report.items() if k != "latency_ms"})
    write_report(args.out or f"bench/results/research_{args.articles // 1000}k.json", report)


if __name__ == "__main__":
    main()
