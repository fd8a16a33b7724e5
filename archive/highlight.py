"""The one highlighter: marks matched words in the ORIGINAL text by analysis offsets.

Every backend's hits are highlighted here, so the same hit shows the same snippet whatever
store answered. All article text is HTML-escaped before any ``<mark>`` is inserted, and its
bidi embedding, override and isolate controls are left out of what is shown (``escape``).
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from collections.abc import Sequence

from archive.analysis import Analyzer, Token, default_analyzer
from archive.query import Fuzzy, ParsedQuery, Phrase, Prefix, Term

Span = tuple[int, int]
# LRE RLE PDF LRO RLO and LRI RLI FSI PDI: in a page or a terminal, an RLO (U+202E) in an
# article reverses the text after it ("evil" shows as "live"). Shown text drops them; the
# stored text keeps them (offsets, hashes and exports are of the text as it came).
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def escape(text: str) -> str:
    """Article text for HTML: escaped (quotes too), bidi controls dropped."""
    return html.escape(text.translate(_BIDI_CONTROLS), quote=True)


def _occurrences(values: Sequence[str], terms: Sequence[str], slop: int) -> list[int]:
    """Indexes into ``values`` of every occurrence of a phrase: the terms adjacent in order, or
    with a ``slop``, each neighbouring pair in order with at most ``slop`` others between (a
    longer sloppy phrase matches when all its pairs do)."""
    if slop and len(terms) > 2:
        pairs = [_occurrences(values, pair, slop) for pair in zip(terms, terms[1:], strict=False)]
        return [i for p in pairs for i in p] if all(pairs) else []
    out: list[int] = []
    for i, v in enumerate(values):
        if v != terms[0]:
            continue
        if len(terms) == 1:
            out.append(i)
        elif slop:
            near = [k for k in range(i + 1, min(len(values), i + slop + 2)) if values[k] == terms[1]]
            out.extend([i, *near] if near else [])
        elif tuple(values[i : i + len(terms)]) == tuple(terms):
            out.extend(range(i, i + len(terms)))
    return out


def match_spans(tokens: Sequence[Token], query: ParsedQuery, title: bool = False) -> list[Span]:
    """Offsets of the tokens the query's positive leaves match (never an excluded word): word
    stems, fuzzy and prefix expansions, phrases in order within their slop. ``title``: the text
    is an article's title, where ``title:`` leaves mark too."""
    stems: set[str] = set()
    exact: set[str] = set()
    prefixes: list[tuple[str, bool]] = []  # (prefix, on stems), for a tree not expanded over an index
    phrases: list[Phrase] = []
    for leaf in query.positive_leaves():
        if leaf.field == "title" and not title:
            continue
        if isinstance(leaf, Term):
            stems.add(leaf.stem)
        elif isinstance(leaf, Fuzzy):
            stems.update(leaf.terms or (leaf.stem,))
        elif isinstance(leaf, Prefix):
            if leaf.terms is None:
                prefixes.append((leaf.prefix, leaf.field == "title"))
            else:
                (stems if leaf.field == "title" else exact).update(leaf.terms)
        else:
            phrases.append(leaf)
    hit = [False] * len(tokens)
    for i, tok in enumerate(tokens):
        if (
            (tok.stem and tok.stem in stems)
            or tok.exact in exact
            or any((tok.stem if on_stem else tok.exact).startswith(p) for p, on_stem in prefixes if not on_stem or tok.stem)
        ):
            hit[i] = True
    for phrase in phrases:
        where = [i for i, t in enumerate(tokens) if t.stem] if phrase.field == "title" else range(len(tokens))
        values = [tokens[i].stem if phrase.field == "title" else tokens[i].exact for i in where]
        for k in _occurrences(values, phrase.terms, phrase.slop):
            hit[where[k]] = True
    spans: list[Span] = []
    for tok, h in zip(tokens, hit, strict=False):
        if h and (not spans or spans[-1] != (tok.start, tok.end)):
            spans.append((tok.start, tok.end))
    return spans


def mark(text: str, spans: Sequence[Span], start: int = 0, end: int | None = None) -> str:
    """``text[start:end]`` as HTML: escaped, with ``<mark>`` around each span inside the window."""
    end = len(text) if end is None else end
    out: list[str] = []
    pos = start
    for s, e in spans:
        if e <= start or s >= end or s < pos:
            continue
        out.append(escape(text[pos:s]))
        out.append(f"<mark>{escape(text[s:e])}</mark>")
        pos = e
    out.append(escape(text[pos:end]))
    return "".join(out)


_WORD = re.compile(r"\S+")
_WORD_END = re.compile(r"\S+\Z")
SNIPPET_SCAN_CHARS = 100_000  # a snippet looks no further: an article near the 1 M limit costs as much as this


def best_window(text: str, spans: Sequence[Span], words: int = 40) -> Span:
    """The ~``words``-word window of ``text`` holding the most matches (ties: earliest). Linear
    in words + matches: both ends of the window only move forward (a count per window made a
    900k-character article take minutes)."""
    bounds = [m.span() for m in _WORD.finditer(text)]
    if not bounds:
        return (0, len(text))
    last = len(bounds) - 1

    def window(w: int) -> Span:
        return (bounds[w][0], bounds[min(w + words - 1, last)][1])

    if not spans:
        return window(0)
    starts = [s for s, _ in spans]
    best, best_count, lo_k, hi_k = 0, -1, 0, 0  # starts[lo_k:hi_k] lie inside the window
    for w in range(max(1, len(bounds) - words + 1)):
        lo, hi = window(w)
        while lo_k < len(starts) and starts[lo_k] < lo:
            lo_k += 1
        hi_k = max(hi_k, lo_k)
        while hi_k < len(starts) and starts[hi_k] < hi:
            hi_k += 1
        if hi_k - lo_k > best_count:
            best, best_count, first_k = w, hi_k - lo_k, lo_k
    if best_count <= 0:
        return window(best)
    # some context before the first match, without losing the last one; full-length at the end
    word_starts = [b[0] for b in bounds]
    first_word = bisect_right(word_starts, starts[first_k]) - 1
    last_word = bisect_right(word_starts, starts[first_k + best_count - 1]) - 1
    first = max(0, first_word - 5, last_word - words + 1)
    return window(max(0, min(first, len(bounds) - words)))


def _scanned(text: str) -> str:
    """The head of ``text`` a snippet looks at: at most ``SNIPPET_SCAN_CHARS``, cut between words."""
    if len(text) <= SNIPPET_SCAN_CHARS:
        return text
    head = text[:SNIPPET_SCAN_CHARS]
    return head if text[SNIPPET_SCAN_CHARS].isspace() else _WORD_END.sub("", head)


def snippet(text: str, query: ParsedQuery, words: int = 40, analyzer: Analyzer | None = None) -> tuple[str, int]:
    """(HTML snippet, number of matches) for ``text`` under ``query``; both from the text's first
    ``SNIPPET_SCAN_CHARS`` characters, so one huge article cannot stall a page of results."""
    head = _scanned(text)
    spans = match_spans((analyzer or default_analyzer()).analyze(head), query)
    s, e = best_window(head, spans, words)
    body = mark(text, spans, s, e)
    return ("… " if s > 0 else "") + body + (" …" if e < len(text) else ""), len(spans)


def highlight_all(text: str, query: ParsedQuery, analyzer: Analyzer | None = None, title: bool = False) -> str:
    """The whole of ``text`` as escaped HTML with every match marked (the article view, titles)."""
    return mark(text, match_spans((analyzer or default_analyzer()).analyze(text), query, title))
