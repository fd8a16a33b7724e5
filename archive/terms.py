"""Top terms of a result set: the stems over-represented in its matches against the whole
archive (significant terms, as Elasticsearch's ``significant_terms`` scores them), each shown as
the form the matching articles write most often.

Counting reads the stems the store indexed (no text is analyzed again for the counts); only the
few articles that show the chosen stems' written forms are read and analyzed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the analyzer is needed to find written forms, not to read top terms back
    from archive.analysis import Analyzer

SAMPLE = 500  # matches whose terms are counted: the first in the order shown (Media Cloud samples 500)
CANDIDATES = 300  # the most frequent stems of the sample that are scored against the background
FORMS_PER_TERM = 3  # matching articles read to find a stem's most frequent written form
_NOT_A_WORD = re.compile(r"\d|^.$")  # numbers (any digit: ١٩٩٠, 3٪) and single letters carry no topic


@dataclass(frozen=True)
class TopTerm:
    term: str  # the written form to show and to add to a query
    stem: str
    matches: int  # sampled matches that hold it
    articles: int  # articles of the archive that hold it (scaled from the sample when the background is sampled)
    score: float


@dataclass(frozen=True)
class TopTerms:
    """The terms and what they were counted over, so a reader can judge them."""

    terms: list[TopTerm]
    sampled: int  # matches counted
    matches: int  # matches in the result set
    counted: int  # articles the background counts come from
    articles: int  # articles in the archive

    @property
    def exact_background(self) -> bool:
        return self.counted >= self.articles

    def describe(self) -> str:
        """What the numbers are, in one line: "the first 500 of 12,345 matches against all 100,000 articles"."""
        fg = (
            f"all {self.matches:,} matches"
            if self.sampled >= self.matches
            else f"the first {self.sampled:,} of {self.matches:,} matches"
        )
        bg = (
            f"all {self.articles:,} articles"
            if self.exact_background
            else f"a sample of {self.counted:,} of {self.articles:,} articles"
        )
        return f"{fg}, against {bg}"

    @staticmethod
    def from_dict(d: dict[str, Any]) -> TopTerms:
        """``as_dict`` read back (top terms that came as JSON, from a server)."""
        terms = [TopTerm(t["term"], t["stem"], t["matches"], t["articles"], t["score"]) for t in d["terms"]]
        return TopTerms(terms, d["sampled"], d["matches"], d["background"], d["articles"])

    def as_dict(self) -> dict:
        return {
            "sampled": self.sampled,
            "matches": self.matches,
            "background": self.counted,
            "articles": self.articles,
            "terms": [
                {"term": t.term, "stem": t.stem, "matches": t.matches, "articles": t.articles, "score": round(t.score, 6)}
                for t in self.terms
            ],
        }


def jlh(fg: int, fg_size: int, bg: int, bg_size: int) -> float:
    """Elasticsearch's default significance: (fg% - bg%) * (fg% / bg%); 0 when the term is no
    more common in the matches than in the archive. The background holds the matches, so a
    sampled background missing a term counts it once (it was seen in a match)."""
    if not fg or not fg_size or not bg_size:
        return 0.0
    p_fg, p_bg = fg / fg_size, max(bg, 1) / bg_size
    return (p_fg - p_bg) * (p_fg / p_bg) if p_fg > p_bg else 0.0


def candidates(docs: Iterable[set[str]], excluded: set[str], limit: int = CANDIDATES) -> list[tuple[str, int]]:
    """The ``limit`` stems held by most of ``docs`` with how many hold each (at least two of
    them when there are ten or more), leaving out ``excluded`` (the query's own words),
    numbers and single letters."""
    held: Counter[str] = Counter()
    n = 0
    for stems in docs:
        held.update(stems)
        n += 1
    least = 2 if n >= 10 else 1
    return [(t, c) for t, c in held.most_common() if c >= least and t not in excluded and not _NOT_A_WORD.search(t)][:limit]


def written_forms(texts: Iterable[str], stems: set[str], analyzer: Analyzer) -> dict[str, str]:
    """Each stem's most frequent written form in ``texts``, diacritics and tatweel removed and
    proclitics dropped: before the article always (والمطار and للمطار count as المطار), a
    conjunction alone when the form without it is written too (وقال as قال, but واشنطن stays);
    ties to the shorter form, then the first in code-point order."""
    from archive.analysis import written

    forms: dict[str, Counter[str]] = {}
    for text in texts:
        for tok in analyzer.analyze(text):
            if tok.stem in stems:
                forms.setdefault(tok.stem, Counter())[_without_article_clitics(written(tok.surface), tok.stem, analyzer)] += 1
    for counts in forms.values():
        for form in [f for f in counts if f[:1] in ("و", "ف") and f[1:] in counts]:
            counts[form[1:]] += counts.pop(form)
    return {s: min(c, key=lambda f: (-c[f], len(f), f)) for s, c in forms.items()}


_PROCLITIC = re.compile("^(?:[وف]?[بك]?|[وف]?)(?=ال)|^[وف]?ل(?=ل)")  # و ف ب ك before ال; ل before ال (written لل)


def _without_article_clitics(form: str, stem: str, analyzer: Analyzer) -> str:
    """``form`` without the proclitics before its article, when what is left has the same stem."""
    cut = _PROCLITIC.match(form)
    if not cut or not cut.group():
        return form
    rest = form[cut.end() :]
    bare = "ا" + rest if rest.startswith("ل") and not rest.startswith("ال") else rest
    return bare if analyzer.stem_terms(bare) == [stem] else form
