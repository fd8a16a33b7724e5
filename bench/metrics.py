"""Ranking metrics and a BM25 that follows Lucene's formula, shared by the quality benchmarks."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse


def ndcg_at(ranked: Sequence[int], relevant: set[int], k: int = 10) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def recall_at(ranked: Sequence[int], relevant: set[int], k: int) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def mrr_at(ranked: Sequence[int], relevant: set[int], k: int = 10) -> float:
    for i, d in enumerate(ranked[:k]):
        if d in relevant:
            return 1.0 / (i + 1)
    return 0.0


class BM25:
    """Lucene's BM25 (k1=1.2, b=0.75, idf = ln(1 + (N - df + .5) / (df + .5))) over term lists."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.vocab: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        lengths = np.zeros(len(docs), dtype=np.float64)
        for i, terms in enumerate(docs):
            lengths[i] = len(terms)
            for term, tf in Counter(terms).items():
                rows.append(i)
                cols.append(self.vocab.setdefault(term, len(self.vocab)))
                tfs.append(tf)
        n = len(docs)
        tf = sparse.csr_matrix((np.array(tfs, dtype=np.float64), (rows, cols)), shape=(n, len(self.vocab)))
        df = np.bincount(tf.indices, minlength=len(self.vocab))
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5))
        norm = k1 * (1 - b + b * lengths / max(lengths.mean(), 1e-9))
        coo = tf.tocoo()
        weights = coo.data / (coo.data + norm[coo.row]) * self.idf[coo.col]
        self.matrix = sparse.csc_matrix((weights, (coo.row, coo.col)), shape=tf.shape)

    def search(self, terms: Sequence[str], k: int = 100) -> list[int]:
        return self.search_scored(terms, k)[0]

    def search_scored(
        self, terms: Sequence[str], k: int = 100, weights: Sequence[float] | None = None
    ) -> tuple[list[int], list[float]]:
        """(top ``k`` doc ids, their scores); ``weights``: one per term (default 1 per occurrence)."""
        counts: Counter = Counter()
        for i, t in enumerate(terms):
            if t in self.vocab:
                counts[self.vocab[t]] += 1.0 if weights is None else weights[i]
        if not counts:
            return [], []
        cols = list(counts)
        scores = self.matrix[:, cols] @ np.array([counts[c] for c in cols], dtype=np.float64)
        scores = np.asarray(scores).ravel()
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        top = top[scores[top] > 0]
        top = top[np.argsort(-scores[top], kind="stable")]
        return top.tolist(), scores[top].tolist()


def write_report(path: str, report: dict) -> None:
    """Write a benchmark's JSON result (bench/results/ is git-ignored) and say where."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"wrote {out}")
