"""Quality of the analysis chains: news word families, then BM25 on the hadith set (issue 14).

Part 1, word families (tests/data/, no model, no server, no AGPL data):
  word_families.tsv  base <TAB> category <TAB> forms; categories country, city, person,
                     organisation, news. Forms are clitic (و ف ب ك ل, with or without ال) and
                     suffix forms of the base that a searcher for the base expects to find.
  no_conflate.tsv    word_a <TAB> word_b <TAB> reason: pairs whose stems must differ.
  nisba.tsv          base <TAB> nisba forms (الفرنسي beside فرنسا): reported, not in recall.
The stem of a word is the single term ``stem_terms(word)`` returns, '' when it returns none (a
stop word). Systems: ours (Analyzer()), lucene (Analyzer(mode="lucene"), light10), snowball
(snowballstemmer "arabic" applied to each of our tokenizer's surface tokens; it has no stop list)
and none (our normalized exact form, stop words kept). Measures:
  recall        family recall: for each family, the share of its forms other than the base whose
                stem equals the base's stem (a '' stem never matches: a dropped base loses the
                family); averaged over the families of a category, and over all families ("all").
  pair recall   share of pairs of forms within a family that share a non-empty stem (mean over
                families), a check that does not depend on the base.
  no-conflate   share of no_conflate pairs that fail: equal stems, or word_a (always a content word
                or a name) dropped. "a dropped" counts the word_a lost to stop words on its own.
  lost          family forms whose stem is '' (names and words lost to stop words), and bases.
  cross-family  share of pairs of forms from different families that share a non-empty stem.
  nisba         share of nisba forms whose stem equals the base's stem (mean over rows).

Part 2, hadith BM25. Task: Arabic chapter title -> the hadiths of that chapter (all six
collections, identical texts merged, a merged text relevant to every chapter a copy sits in).
Systems:
  none    tokens as written (no normalization, no stemming)
  lucene  Lucene's ArabicAnalyzer chain: stop words, ArabicNormalizer, light10
  ours    this project's analysis (archive.analysis.Analyzer())
plus, with --variants, the alternatives behind each of our design choices. The topics are split
into a tuning half and a reporting half (fixed seed): choices are made on the tuning half, the
reporting half is the number we quote. Part 2 needs the AGPL hadith packages
(bench/requirements.txt); --families-only skips it.

    python bench/analysis_quality.py [--families-only] [--variants] [--out bench/results/analysis_quality.json]
"""

from __future__ import annotations

import argparse
import itertools
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from statistics import mean
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from metrics import BM25, mrr_at, ndcg_at, recall_at, write_report  # noqa: E402

from archive import lexicon  # noqa: E402
from archive.analysis import TOKEN_RE, Analyzer  # noqa: E402

Terms = Callable[[str], list[str]]

# --------------------------------------------------------------------------- word families
DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
CATEGORIES = ("country", "city", "person", "organisation", "news")


class Family(NamedTuple):
    base: str
    category: str
    forms: tuple[str, ...]  # the base first


def _rows(path: Path) -> list[list[str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            out.append(line.split("\t"))
    return out


def load_families(path: Path = DATA / "word_families.tsv") -> list[Family]:
    return [Family(b, c, tuple(f.split())) for b, c, f in _rows(path)]


def load_pairs(path: Path = DATA / "no_conflate.tsv") -> list[tuple[str, str, str]]:
    return [(a, b, why) for a, b, why in _rows(path)]


def load_nisba(path: Path = DATA / "nisba.tsv") -> list[tuple[str, tuple[str, ...]]]:
    return [(b, tuple(f.split())) for b, f in _rows(path)]


def our_variants() -> dict[str, Terms]:
    """The alternatives behind each of our design choices, lexicon sources included (which
    source helps: each left out in turn, and none at all)."""
    out: dict[str, Terms] = {
        "ours_no_stem": Analyzer(stem=False).stem_terms,
        "ours_hamza_keep": Analyzer(hamza="keep").stem_terms,
        "ours_hamza_fold": Analyzer(hamza="fold").stem_terms,
        "ours_no_bare_prep": Analyzer(bare_prepositions=False).stem_terms,
        "ours_strip_teh": Analyzer(keep_teh_marbuta=False).stem_terms,
        "ours_no_lexicon": Analyzer(lexicon_sources=()).stem_terms,
    }
    for left_out in lexicon.SOURCES:
        rest = tuple(s for s in lexicon.SOURCES if s != left_out)
        out[f"ours_no_{left_out}"] = Analyzer(lexicon_sources=rest).stem_terms
    return out


def family_systems(variants: bool = False) -> dict[str, Terms]:
    """Word -> terms for each system of the family table (one term per one-token word)."""
    import snowballstemmer

    snow = snowballstemmer.stemmer("arabic")

    def snowball(text: str) -> list[str]:
        return [s for s in (snow.stemWord(m.group()) for m in TOKEN_RE.finditer(text)) if s]

    return {
        "ours": Analyzer().stem_terms,
        "lucene": Analyzer(mode="lucene").stem_terms,
        "snowball": snowball,
        "none": Analyzer().exact_terms,
        **(our_variants() if variants else {}),
    }


def stem_of(terms: Terms, word: str) -> str:
    """The single stem of a one-token word; '' when the system drops it (stop word)."""
    out = terms(word)
    if len(out) > 1:
        raise ValueError(f"{word!r} gives {len(out)} terms {out}: family data must be single words")
    return out[0] if out else ""


PRONOUNS = ("هما", "هم", "ها", "كم", "نا", "ه")
FORM_KINDS = (
    "و",
    "ف",
    "ب",
    "ك",
    "ل",
    "وب",
    "ول",
    "ال",
    "وال",
    "فال",
    "بال",
    "كال",
    "لل",
    "ولل",
    "وبال",
    "+pron",
    "clitic+pron",
    "variant",
)


def form_kind(fam: Family, w: str) -> str:
    """What a form adds to its base: a clitic chain (و, بال, لل ...), a pronoun suffix, or
    'variant' (another spelling of the base and its forms)."""
    b = fam.base
    bound = b[:-1] + "ت" if b.endswith("ة") else b
    for suf in PRONOUNS:
        if w.endswith(suf) and w[: -len(suf)].endswith(bound):
            return "clitic+pron" if w[: -len(suf) - len(bound)] else "+pron"
    if b.startswith("ال") and w.endswith(b[2:]):  # a name with the article: العراق, اللاذقية
        p = w[: -len(b) + 2]
        return p + "ل" if p in ("ل", "ول") else p  # ل + اللاذقية is written للاذقية
    if w.endswith(b) and len(w) > len(b):
        return w[: -len(b)]
    return "variant"


def family_measures(terms: Terms, families: list[Family], pairs, nisba) -> dict:
    """Every measure of the family table for one system (definitions: module docstring)."""
    stem = {w: stem_of(terms, w) for fam in families for w in fam.forms}
    per_cat: dict[str, list[float]] = {c: [] for c in CATEGORIES}
    by_kind: dict[str, list[int]] = {}
    pair_shares, misses = [], {}
    for fam in families:
        s0 = stem[fam.base]
        rest = fam.forms[1:]
        hit = [w for w in rest if s0 and stem[w] == s0]
        for w in rest:
            by_kind.setdefault(form_kind(fam, w), []).append(int(w in hit))
        per_cat[fam.category].append(len(hit) / len(rest) if rest else 1.0)
        if len(hit) < len(rest):
            misses[fam.base] = {w: stem[w] for w in rest if w not in hit} | {"<base>": s0}
        ps = [stem[a] == stem[b] != "" for a, b in itertools.combinations(fam.forms, 2)]
        pair_shares.append(sum(ps) / len(ps) if ps else 1.0)
    recall = {c: round(mean(v), 4) for c, v in per_cat.items() if v}
    recall["all"] = round(mean(x for v in per_cat.values() for x in v), 4)

    fails, equal, a_dropped = [], 0, []
    for a, b, why in pairs:
        sa, sb = stem_of(terms, a), stem_of(terms, b)
        if sa == "":
            a_dropped.append(a)
        elif sa == sb:
            equal += 1
        if sa == "" or sa == sb:
            fails.append({"a": a, "b": b, "stem_a": sa, "stem_b": sb, "reason": why})

    # cross-family: pairs of forms from different families with the same non-empty stem
    by_stem: dict[str, dict[str, int]] = {}
    for fam in families:
        for w in fam.forms:
            if stem[w]:
                d = by_stem.setdefault(stem[w], {})
                d[fam.base] = d.get(fam.base, 0) + 1
    n_forms = [len(f.forms) for f in families]
    total_pairs = (sum(n_forms) ** 2 - sum(n * n for n in n_forms)) // 2
    colliding, shared = 0, []
    for s, d in by_stem.items():
        if len(d) > 1:
            tot = sum(d.values())
            c = (tot * tot - sum(n * n for n in d.values())) // 2
            colliding += c
            shared.append((c, s, sorted(d)))
    shared.sort(key=lambda t: (-t[0], t[1]))

    nis = [
        sum(1 for w in forms if stem_of(terms, w) and stem_of(terms, w) == stem[base]) / len(forms)
        for base, forms in nisba
        if forms
    ]
    lost_forms = [w for w, s in stem.items() if s == ""]
    return {
        "recall": recall,
        "pair_recall": round(mean(pair_shares), 4),
        "recall_by_form": {k: {"forms": len(v), "recall": round(mean(v), 4)} for k, v in by_kind.items()},
        "no_conflate": {
            "pairs": len(pairs),
            "collision_rate": round(len(fails) / len(pairs), 4) if pairs else 0.0,
            "equal_stems": equal,
            "a_dropped": len(a_dropped),
            "failures": fails,
        },
        "lost_to_stop_words": {
            "forms": len(lost_forms),
            "bases": [f.base for f in families if stem[f.base] == ""],
            "examples": lost_forms[:50],
        },
        "cross_family": {
            "rate": round(colliding / total_pairs, 6) if total_pairs else 0.0,
            "pairs": colliding,
            "of": total_pairs,
            "stems_shared": len(shared),
            "top": [{"stem": s, "pairs": c, "families": fs[:10]} for c, s, fs in shared[:30]],
        },
        "nisba_meets_base": round(mean(nis), 4) if nis else None,
        "family_misses": misses,
    }


def family_table(variants: bool = False) -> dict:
    """Print the family table for every system; return its report section."""
    families, pairs, nisba = load_families(), load_pairs(), load_nisba()
    counts = {c: sum(1 for f in families if f.category == c) for c in CATEGORIES}
    n_forms = sum(len(f.forms) for f in families)
    print(
        f"word families: {len(families)} ({', '.join(f'{c} {n}' for c, n in counts.items())}), "
        f"{n_forms} forms; {len(pairs)} no-conflate pairs; {len(nisba)} nisba rows"
    )
    cats = ["country", "city", "person", "organisation", "news"]
    head = f"{'system':9}" + "".join(f"{c[:7]:>8}" for c in cats)
    head += f"{'all':>8}{'pairs':>8}{'no-confl':>9}{'a-lost':>7}{'lost':>6}{'x-fam ppm':>10}{'nisba':>7}"
    print("family recall per category, then: pair recall, no-conflate collision rate, word_a lost to")
    print(
        "stop words, family forms lost to stop words, cross-family collision rate (per million pairs),\n"
        "nisba forms meeting their base"
    )
    print(head)
    out: dict = {
        "families": len(families),
        "per_category": counts,
        "forms": n_forms,
        "no_conflate_pairs": len(pairs),
        "nisba_rows": len(nisba),
        "systems": {},
    }
    for name, terms in family_systems(variants).items():
        m = family_measures(terms, families, pairs, nisba)
        out["systems"][name] = m
        r = m["recall"]
        nc = m["no_conflate"]
        nis = m["nisba_meets_base"]
        print(
            f"{name:9}"
            + "".join(f"{r[c]:8.3f}" for c in cats)
            + f"{r['all']:8.3f}{m['pair_recall']:8.3f}{nc['collision_rate']:9.3f}{nc['a_dropped']:7d}"
            + f"{m['lost_to_stop_words']['forms']:6d}{m['cross_family']['rate'] * 1e6:10.1f}"
            + (f"{nis:7.3f}" if nis is not None else f"{'-':>7}")
        )
    kinds = [k for k in FORM_KINDS if k in out["systems"]["ours"]["recall_by_form"]]
    names = list(out["systems"])
    print("\nrecall by what the form adds to its base (micro over forms):")
    print(f"{'form':12}{'forms':>6}" + "".join(f"{n:>9}" for n in names))
    for k in kinds:
        row = [out["systems"][n]["recall_by_form"][k]["recall"] for n in names]
        n_k = out["systems"]["ours"]["recall_by_form"][k]["forms"]
        print(f"{k:12}{n_k:6d}" + "".join(f"{r:9.3f}" for r in row))
    ours, luc = out["systems"]["ours"], out["systems"]["lucene"]
    gate_recall = ours["recall"]["all"] > luc["recall"]["all"]
    gate_coll = ours["no_conflate"]["collision_rate"] <= luc["no_conflate"]["collision_rate"]
    out["gates"] = {"ours_recall_above_lucene": gate_recall, "ours_no_conflate_not_above_lucene": gate_coll}
    print(
        f"gates (issue 14): ours recall > lucene: {'yes' if gate_recall else 'NO'}; "
        f"ours no-conflate collisions <= lucene: {'yes' if gate_coll else 'NO'}"
    )
    fails = ours["no_conflate"]["failures"]
    if fails:
        shown = ", ".join(f"{f['a']}/{f['b']}->{f['stem_a'] or '∅'}" for f in fails[:12])
        print(f"ours no-conflate failures ({len(fails)}): {shown}{' ...' if len(fails) > 12 else ''}")
    top = ours["cross_family"]["top"][:6]
    if top:
        print("ours cross-family stems: " + "; ".join(f"{t['stem']}: {' '.join(t['families'][:4])}" for t in top))
    return out


# --------------------------------------------------------------------------- hadith BM25
def systems(variants: bool) -> dict[str, Terms]:
    def raw(text: str) -> list[str]:
        return [m.group() for m in TOKEN_RE.finditer(text)]

    out: dict[str, Terms] = {
        "none": raw,
        "lucene": Analyzer(mode="lucene").stem_terms,
        "ours": Analyzer().stem_terms,
    }
    if variants:
        out.update(our_variants())
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
    ap.add_argument("--families-only", action="store_true", help="only the word-family table (no hadith data)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", default="bench/results/analysis_quality.json")
    args = ap.parse_args()

    families = family_table(args.variants)
    if args.families_only:
        write_report(args.out, {"machine": platform.platform(), "families": families})
        return
    print()
    from hadith import load

    data = load()
    docs = [d.arabic for d in data.docs]
    topics = sorted(data.queries)
    random.Random(args.seed).shuffle(topics)
    tuning, reporting = sorted(topics[: len(topics) // 2]), sorted(topics[len(topics) // 2 :])
    print(f"{len(docs)} distinct hadiths, {len(topics)} topics ({len(tuning)} tuning / {len(reporting)} reporting)")

    report: dict = {"machine": platform.platform(), "families": families, "docs": len(docs), "topics": len(topics), "systems": {}}
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
    print(
        f"ours / lucene nDCG@10: tuning {report['ours_over_lucene_tuning']}, "
        f"reporting {report['ours_over_lucene_reporting']} (goal >= 1.03)"
    )
    write_report(args.out, report)


if __name__ == "__main__":
    main()
