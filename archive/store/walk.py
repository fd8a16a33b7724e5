"""The one walk of a query tree, for every backend.

``build`` turns the parser's boolean tree into a backend query through three builder calls
(a term in a column, a phrase in a column, a boolean of built parts), so the embedded store
and Elasticsearch cannot drift apart: which column a leaf searches, how a word weighs its
title, what a prefix or a fuzzy word expands to, and which parts can match nothing are decided
here once. ``expand`` fills in prefix and fuzzy leaves from the index's vocabulary first.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol, Sequence, TypeVar

from rapidfuzz.distance import OSA

from archive.query import Bool, Fuzzy, Leaf, Node, Phrase, Prefix, Term, map_leaves
from archive.store.base import PREFIX_EXPANSIONS, STEM_MARK, TITLE_BOOST

FUZZY_EXPANSIONS = 50  # word~ matches at most this many stems, nearest first (Lucene's max_expansions)

Q = TypeVar("Q")


class Builder(Protocol[Q]):
    """A backend's query constructors. Columns: ``stem`` (title and body stems), ``title_stem``,
    ``exact`` (normalized terms with positions)."""

    def match(self, column: str, term: str, boost: float = 1.0) -> Q: ...

    def phrase(self, column: str, terms: Sequence[str], slop: int) -> Q:
        """The terms adjacent and in order; with a ``slop``, two terms in order with at most
        ``slop`` others between them (LanceDB 0.40 misses matches of longer sloppy phrases, so
        the walk never asks for one)."""

    def boolean(self, must: Sequence[Q], should: Sequence[Q], must_not: Sequence[Q]) -> Q:
        """Every ``must``, no ``must_not``, and one ``should`` at least when ``must`` is empty."""


class Vocabulary(Protocol):
    """What expansion asks a store: vocabulary entries (exact terms, ``STEM_MARK`` + stem)."""

    def expand(self, prefix: str, limit: int) -> list[str]:
        """The entries that begin with ``prefix``, in code-point order, at most ``limit``."""

    def near(self, entry: str, distance: int, limit: int) -> list[str]:
        """Entries that may lie within ``distance`` edits of ``entry``: a superset is fine (the
        caller measures), missing one is not."""


def _words(column: str, terms: Sequence[str], b: Builder[Q]) -> Q | None:
    """Any of ``terms``; a word of the text field counts in the body's stems and, doubled, in
    the title's."""
    parts: list[Q] = []
    for t in terms:
        if column == "stem":
            parts.append(b.boolean([], [b.match("stem", t), b.match("title_stem", t, TITLE_BOOST)], []))
        else:
            parts.append(b.match(column, t))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else b.boolean([], parts, [])


def _leaf(leaf: Leaf, b: Builder[Q]) -> Q | None:
    title = leaf.field == "title"
    if isinstance(leaf, Term):
        return _words("title_stem" if title else "stem", [leaf.stem], b)
    if isinstance(leaf, Phrase):
        column = "title_stem" if title else "exact"
        if leaf.slop and len(leaf.terms) > 2:  # "a b c"~N: each neighbouring pair within N, in order
            return b.boolean([b.phrase(column, pair, leaf.slop) for pair in zip(leaf.terms, leaf.terms[1:])], [], [])
        return b.phrase(column, leaf.terms, leaf.slop)
    if isinstance(leaf, Prefix):  # exact terms; in a title, stems
        return _words("title_stem" if title else "exact", leaf.terms or (), b)
    return _words("title_stem" if title else "stem", leaf.terms or (), b)  # Fuzzy: stems


def build(node: Node, b: Builder[Q]) -> Q | None:
    """The backend query for a tree; None when it can match nothing (a prefix that expands to
    no term, a required part that cannot match, a boolean left with no positive part)."""
    if not isinstance(node, Bool):
        return _leaf(node, b)
    must = [build(c, b) for c in node.must]
    if any(m is None for m in must):
        return None
    should = [q for q in (build(c, b) for c in node.should) if q is not None]
    if not must and not should:
        return None
    must_not = [q for q in (build(c, b) for c in node.must_not) if q is not None]
    if len(must) + len(should) == 1 and not must_not:
        return (must or should)[0]
    return b.boolean(must, should, must_not)  # type: ignore[arg-type]


def expand(node: Node, vocab: Vocabulary) -> tuple[Node, list[str]]:
    """The tree with every prefix and fuzzy leaf's terms looked up, and warnings for those cut
    at their cap."""
    warnings: list[str] = []

    def one(leaf: Leaf) -> Leaf:
        if isinstance(leaf, Prefix) and leaf.terms is None:
            mark = STEM_MARK if leaf.field == "title" else ""
            found = vocab.expand(mark + leaf.prefix, PREFIX_EXPANSIONS + 1)
            if len(found) > PREFIX_EXPANSIONS:
                warnings.append(f"{leaf.text} stands for more than {PREFIX_EXPANSIONS} words: "
                                f"the first {PREFIX_EXPANSIONS} in alphabetical order are searched")
            return replace(leaf, terms=tuple(t[len(mark):] for t in found[:PREFIX_EXPANSIONS]))
        if isinstance(leaf, Fuzzy) and leaf.terms is None:
            terms = fuzzy_terms(leaf.stem, leaf.distance,
                                [t[1:] for t in vocab.near(STEM_MARK + leaf.stem, leaf.distance, 100_000)])
            if len(terms) > FUZZY_EXPANSIONS:
                warnings.append(f"{leaf.text}~{leaf.distance} matches more than {FUZZY_EXPANSIONS} words: "
                                f"the {FUZZY_EXPANSIONS} nearest are searched")
            return replace(leaf, terms=tuple(terms[:FUZZY_EXPANSIONS]))
        return leaf

    return map_leaves(node, one), warnings


def fuzzy_terms(stem: str, distance: int, candidates: Sequence[str]) -> list[str]:
    """The candidates within ``distance`` edits of ``stem`` (optimal string alignment: an
    insertion, deletion, substitution or swap of neighbours each counts one, as in Lucene),
    nearest first, then in code-point order."""
    scored = sorted({(d, c) for c in candidates
                     if (d := OSA.distance(stem, c, score_cutoff=distance)) <= distance})
    return [c for _, c in scored]
