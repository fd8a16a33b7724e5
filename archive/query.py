"""Query parser: plain words, "phrases", OR / |, -exclusion, +required, prefix*, and the filters
source:NAME, from:YYYY-MM-DD, to:YYYY-MM-DD.

Semantics follow Elasticsearch's simple_query_string (default operator OR), so people who
also query the ES index directly meet the same rules: plain words are optional and rank by
BM25, a quoted phrase or a +word is required, -word excludes, ``a OR b`` / ``a | b`` groups
alternatives. Any input gives a ``ParsedQuery``; problems become ``warnings``, never exceptions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from archive.analysis import IN_WORD_CONTROLS, Analyzer, default_analyzer

MAX_QUERY_CHARS = 1000
MAX_CLAUSES = 32

ClauseKind = Literal["term", "phrase", "prefix"]
_QUOTES = {'"': '"', "“": "”", "”": "”", "«": "»", "„": "“"}
_FILTERS = ("source:", "from:", "to:")


@dataclass(frozen=True)
class Clause:
    """One query item. ``terms``: stems for ``term``, exact terms for ``phrase`` and ``prefix``."""

    kind: ClauseKind
    text: str
    terms: tuple[str, ...]
    required: bool = False


@dataclass
class ParsedQuery:
    """A parsed query: OR-groups of clauses, exclusions, filters and the text to embed."""

    raw: str
    groups: list[list[Clause]] = field(default_factory=list)
    excluded: list[Clause] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    semantic_text: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def has_keyword_clauses(self) -> bool:
        return any(self.groups)

    def stem_terms(self) -> set[str]:
        """Stems of every positive term clause (what the highlighter marks)."""
        return {t for g in self.groups for c in g if c.kind == "term" for t in c.terms}

    def phrases(self) -> list[tuple[str, ...]]:
        return [c.terms for g in self.groups for c in g if c.kind == "phrase"]

    def prefixes(self) -> list[str]:
        return [c.terms[0] for g in self.groups for c in g if c.kind == "prefix"]


def _scan(text: str) -> list[tuple[str, bool]]:
    """Split into (item, quoted) pairs; quotes may be ASCII, curly or guillemets, unbalanced ok."""
    items: list[tuple[str, bool]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        # an operator prefix glued to a quote: -"..." / +"..." / source:"..."
        head = ""
        for op in ("-", "+", *_FILTERS):
            if text.startswith(op, i) and i + len(op) < n and text[i + len(op)] in _QUOTES:
                head = op
                break
        j = i + len(head)
        if j < n and text[j] in _QUOTES:
            close = _QUOTES[text[j]]
            end = text.find(close, j + 1)
            if end < 0:
                end = n
            items.append((head + text[j + 1 : end], True))
            i = end + 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] not in _QUOTES:
            j += 1
        if j == i:  # a closing quote with no opener
            i += 1
            continue
        items.append((text[i:j], False))
        i = j
    return items


def _date(value: str, name: str, warnings: list[str]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        warnings.append(f"ignored {name}:{value!r} (expected YYYY-MM-DD)")
        return None


def parse(text: str, analyzer: Analyzer | None = None) -> ParsedQuery:
    """Parse any string into a query; never raises."""
    an = analyzer or default_analyzer()
    raw = text if isinstance(text, str) else str(text)
    q = ParsedQuery(raw=raw)
    text = "".join(
        "" if ch in IN_WORD_CONTROLS else ch if ch.isprintable() or ch.isspace() else " " for ch in raw
    )
    if len(text) > MAX_QUERY_CHARS:
        q.warnings.append(f"query cut to its first {MAX_QUERY_CHARS} characters")
        text = text[:MAX_QUERY_CHARS]

    semantic: list[str] = []
    pending_or = False
    clauses = 0
    for item, quoted in _scan(text):
        body = item
        low = body.lower()
        if not quoted and low in ("or", "|") or body == "||":
            pending_or = bool(q.groups)
            continue
        filt = next((f for f in _FILTERS if low.startswith(f) and len(body) > len(f)), None)
        if filt:
            value = body[len(filt):].strip()
            if filt == "source:":
                q.sources.append(value)
            elif filt == "from:":
                q.date_from = _date(value, "from", q.warnings) or q.date_from
            else:
                q.date_to = _date(value, "to", q.warnings) or q.date_to
            continue
        negate = body.startswith("-") and len(body) > 1
        required = body.startswith("+") and len(body) > 1
        if negate or required:
            body = body[1:]
        if not negate:
            semantic.append(body.rstrip("*"))
        clause = _clause(body, quoted, required, an)
        if clause is None:
            pending_or = False
            continue
        if clauses >= MAX_CLAUSES:
            q.warnings.append(f"only the first {MAX_CLAUSES} query terms are used")
            break
        clauses += 1
        if negate:
            q.excluded.append(clause)
            pending_or = False
            continue
        if pending_or and q.groups:
            q.groups[-1].append(clause)
        else:
            q.groups.append([clause])
        pending_or = False
    if q.date_from and q.date_to and q.date_from > q.date_to:
        q.warnings.append("from: is after to: — the dates were swapped")
        q.date_from, q.date_to = q.date_to, q.date_from
    q.semantic_text = " ".join(semantic)
    return q


def _clause(body: str, quoted: bool, required: bool, an: Analyzer) -> Clause | None:
    """Analyze one item; hyphenated words (سوخوي-34) become phrases, stop words vanish."""
    if not quoted and body.endswith("*") and len(body) > 1:
        exact = an.exact_terms(body.rstrip("*"))
        if len(exact) == 1:
            return Clause("prefix", body, (exact[0],), required)
        # "a-b*": a phrase of its parts (falls through to the phrase branch below)
    tokens = an.analyze(body)
    if not tokens:
        return None
    if quoted or len(tokens) > 1:  # only a quoted phrase is required; سوخوي-34 merely scores
        return Clause("phrase", body, tuple(t.exact for t in tokens), required or quoted)
    stem = tokens[0].stem
    if not stem:
        return None
    return Clause("term", body, (stem,), required)
