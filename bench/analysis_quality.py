"""BM25 quality of the analysis chains on the hadith set (issue: Arabic text analysis).

Task: Arabic chapter title -> the hadiths of that chapter (all six collections, identical texts
merged, a merged text relevant to every chapter a copy sits in). Systems:
  none    tokens as written (no normalization, no stemming)
  lucene  Lucene's ArabicAnalyzer chain: stop words, ArabicNormalizer, light10
  ours    this project's analysis (archive.analysis.Analyzer())
plus, with --variants, the alternatives behind each of our design choices. The topics are split
into a tuning half and a reporting half (fixed seed): choices are made on the tuning half, the
reporting half is the number we quote.

    python bench/analysis_quality.py [--variants] [--out bench/results/analysis_quality.json]
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from pathlib import Path
from statistics import mean
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from archive.analysis import TOKEN_RE, Analyzer  # noqa: E402
from hadith import load  # noqa: E402
from metrics import BM25, mrr_at, ndcg_at, recall_at, write_report  # noqa: E402

Terms = Callable[[str], list[str]]


def systems(variants: bool) -> dict[str, Terms]:
    def raw(text: str) -> list[str]:
        return [m.group() for m in TOKEN_RE.finditer(text)]

    out: dict[str, Terms] = {
        "none": raw,
        "lucene": Analyzer(mode="lucene").stem_terms,
        "ours": Analyzer().stem_terms,
    }
    if variants:
        out.update(
            {
                "ours_no_stem": Analyzer(stem=False).stem_terms,
                "ours_hamza_keep": Analyzer(hamza="keep").stem_terms,
                "ours_hamza_fold": Analyzer(hamza="fold").stem_terms,
                "ours_no_bare_prep": Analyzer(bare_prepositions=False).stem_terms,
            }
        )
    return out


def evaluate(name: str, terms: Terms, docs: list[str], queries: dict[str, set[int]]) -> dict:
    t0 = time.perf_counter()
    index = BM25([terms(d) for d in docs])
    build = time.perf_counter() - t0
    per_query = {}
    for q, rel in queries.items():
        ranked = index.search(terms(q), k=100)
        per_query[q] = (ndcg_at(ranked, rel, 10), recall_at(ranked, rel, 100), mrr_at(ranked, rel, 10))
    return {"name": name, "build_s": round(build, 2), "per_query": per_query}


def summarize(result: dict, topics: list[str]) -> dict:
    rows = [result["per_query"][t] for t in topics]
    return {
        "ndcg@10": round(mean(r[0] for r in rows), 4),
        "recall@100": round(mean(r[1] for r in rows), 4),
        "mrr@10": round(mean(r[2] for r in rows), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", action="store_true", help="also run the alternatives to our choices")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", default="bench/results/analysis_quality.json")
    args = ap.parse_args()

    data = load()
    docs = [d.arabic for d in data.docs]
    topics = sorted(data.queries)
    random.Random(args.seed).shuffle(topics)
    tuning, reporting = sorted(topics[: len(topics) // 2]), sorted(topics[len(topics) // 2 :])
    print(f"{len(docs)} distinct hadiths, {len(topics)} topics ({len(tuning)} tuning / {len(reporting)} reporting)")

    report: dict = {"machine": platform.platform(), "docs": len(docs), "topics": len(topics), "systems": {}}
    print(f"{'system':20} {'split':10} {'nDCG@10':>8} {'R@100':>8} {'MRR@10':>8} {'build s':>8}")
    for name, fn in systems(args.variants).items():
        res = evaluate(name, fn, docs, data.queries)
        report["systems"][name] = {"build_s": res["build_s"]}
        for split, ts in (("tuning", tuning), ("reporting", reporting), ("all", topics)):
            s = summarize(res, ts)
            report["systems"][name][split] = s
            print(f"{name:20} {split:10} {s['ndcg@10']:8.4f} {s['recall@100']:8.4f} {s['mrr@10']:8.4f} {res['build_s']:8.1f}")
    for split in ("tuning", "reporting", "all"):
        ours = report["systems"]["ours"][split]["ndcg@10"]
        luc = report["systems"]["lucene"][split]["ndcg@10"]
        report[f"ours_over_lucene_{split}"] = round(ours / luc, 4) if luc else None
    print(f"ours / lucene nDCG@10: tuning {report['ours_over_lucene_tuning']}, reporting {report['ours_over_lucene_reporting']} (goal >= 1.03)")
    write_report(args.out, report)


if __name__ == "__main__":
    main()
