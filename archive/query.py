"""The research query language: words, "phrases", AND / OR / NOT, + and -, parentheses,
proximity "a b"~N, fuzzy word~N, prefix word*, title: scoping and the filters source:,
from:, to:. ``parse`` turns any string into a typed boolean tree; the stores walk that one
tree (``archive.store.walk``), so every backend matches the same articles.

Precedence, tightest first: a leaf with its ``+``/``-``/``NOT`` marks, then ``AND``, then
``OR`` (also ``|``), then juxtaposition, which is the default operator (OR unless
``default="AND"``). Operators are upper case, as in Lucene and Media Cloud: ``or`` is a word.
In a juxtaposed list ``+x`` is required, ``-x`` / ``NOT x`` excluded, and a quoted phrase is
required as if written ``+"..."`` (it is only an alternative inside an explicit OR). Anything
the parser does not understand is read as text and named in ``warnings``; it never raises.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from archive.analysis import IN_WORD_CONTROLS, Analyzer, default_analyzer

MAX_QUERY_CHARS = 1000
MAX_CLAUSES = 32  # leaves (words, phrases, prefixes, fuzzy words) in one query
MAX_NESTING = 16  # parentheses deeper than this are read as text
MAX_SLOP = 50  # proximity "a b"~N: at most this many words between neighbours
MAX_FUZZY = 2  # edits, as in Lucene

Field = Literal["text", "title"]  # text: title and body; title: the title alone
Operator = Literal["OR", "AND"]
_QUOTES = {'"': '"', "“": "”", "”": "”", "«": "»", "„": "“"}
_FILTERS = ("source", "from", "to")
_FIELDS = ("title",)
_STOP_CHARS = set(_QUOTES) | set("()|")


@dataclass(frozen=True)
class Term:
    """A word: matches its stem (clitics and inflections folded)."""

    text: str
    stem: str
    field: Field = "text"


@dataclass(frozen=True)
class Phrase:
    """Words in order, adjacent, or with ``slop``: at most that many others between each
    neighbouring pair ("a b c"~3 is "a b"~3 AND "b c"~3). ``terms`` are exact terms in the text
    field, stems in the title field (titles are indexed by stem)."""

    text: str
    terms: tuple[str, ...]
    slop: int = 0
    field: Field = "text"


@dataclass(frozen=True)
class Prefix:
    """``word*``: the indexed terms that begin with it (exact terms; stems in a title).
    ``terms`` is None until the search service expands it over the index's vocabulary."""

    text: str
    prefix: str
    field: Field = "text"
    terms: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Fuzzy:
    """``word~N``: the indexed stems within N edits (Damerau, as Lucene) of the word's stem."""

    text: str
    stem: str
    distance: int
    field: Field = "text"
    terms: tuple[str, ...] | None = None


Leaf = Term | Phrase | Prefix | Fuzzy


@dataclass(frozen=True)
class Bool:
    """Lucene's boolean: every ``must`` matches, no ``must_not`` does, and when there is no
    ``must`` at least one ``should`` does. Only the root may lack positive clauses (a query of
    exclusions alone: every article the filters select, less those)."""

    must: tuple[Node, ...] = ()
    should: tuple[Node, ...] = ()
    must_not: tuple[Node, ...] = ()

    @property
    def positive(self) -> bool:
        return bool(self.must or self.should)


Node = Leaf | Bool


def leaves(node: Node | None, positive: bool = True) -> Iterator[Leaf]:
    """The leaves of a tree; ``positive``: only those that can make an article match (not
    under an odd number of exclusions), which are what the highlighter marks."""
    if node is None:
        return
    if not isinstance(node, Bool):
        yield node
        return
    for child in (*node.must, *node.should):
        yield from leaves(child, positive)
    if not positive:
        for child in node.must_not:
            yield from leaves(child, positive)


def constraint(node: Node | None) -> Bool | None:
    """What every hit must satisfy, the semantic ones included: the root's required clauses,
    an explicit group standing alone beside exclusions, and the exclusions; its optional words
    only rank (a hit found by meaning need not contain them). None when nothing is required."""
    if node is None:
        return None
    if not isinstance(node, Bool):
        return None  # one optional word or phrase: found by meaning without it too
    must = node.must
    if not must and len(node.should) == 1 and isinstance(node.should[0], Bool):
        must = node.should  # an explicit group beside exclusions: (a OR b) AND c NOT d
    if not must and not node.must_not:
        return None
    return Bool(must=must, must_not=node.must_not)


def map_leaves(node: Node, fn: Callable[[Leaf], Leaf]) -> Node:
    """The same tree with every leaf replaced by ``fn(leaf)`` (prefix and fuzzy expansion)."""
    if isinstance(node, Bool):
        return Bool(*(tuple(map_leaves(c, fn) for c in part) for part in (node.must, node.should, node.must_not)))
    return fn(node)


@dataclass
class ParsedQuery:
    """A parsed query: the boolean tree, the filters, the text to embed, and what was not
    understood (``warnings``)."""

    raw: str
    tree: Node | None = None
    sources: list[str] = field(default_factory=list)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    semantic_text: str = ""
    warnings: list[str] = field(default_factory=list)
    default: Operator = "OR"

    @property
    def has_keyword_clauses(self) -> bool:
        """Whether some word can make an article match (a query of exclusions alone cannot)."""
        return self.tree is not None and (not isinstance(self.tree, Bool) or self.tree.positive)

    @property
    def excluded_only(self) -> bool:
        """Exclusions and nothing to match: a listing of the filters' articles less those."""
        return isinstance(self.tree, Bool) and not self.tree.positive and bool(self.tree.must_not)

    def positive_leaves(self) -> list[Leaf]:
        return list(leaves(self.tree))


# --------------------------------------------------------------------------- lexer
@dataclass
class _Tok:
    kind: Literal["word", "phrase", "(", ")", "AND", "OR", "NOT", "+", "-", "field"]
    text: str = ""
    slop: int | None = None  # phrase~N
    fuzzy: int | None = None  # word~N (-1: ~ alone, automatic distance)


def _suffix_number(text: str, i: int) -> tuple[int | None, int]:
    """The digits at ``text[i:]`` as a number (None when there are none) and where they end."""
    j = i
    while j < len(text) and text[j].isascii() and text[j].isdigit():
        j += 1
    return (int(text[i:j]) if j > i else None), j


def _lex(text: str, q: ParsedQuery) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            toks.append(_Tok(ch))  # type: ignore[arg-type]
            i += 1
            continue
        if ch == "|":
            toks.append(_Tok("OR"))
            i += 2 if text.startswith("||", i) else 1
            continue
        if ch in "+-":
            j = i
            while j < n and text[j] in "+-":
                j += 1
            if j >= n or text[j].isspace() or text[j] in ")|":
                q.warnings.append(f"ignored {text[i:j]!r}: an operator with nothing after it")
            else:
                toks.append(_Tok("-" if "-" in text[i:j] else "+"))
                if "+" in text[i:j] and "-" in text[i:j]:
                    q.warnings.append(f"read {text[i:j]!r} as '-' (exclude)")
            i = j
            continue
        if ch in _QUOTES:
            close = _QUOTES[ch]
            end = text.find(close, i + 1)
            if end < 0:
                q.warnings.append("a quote was not closed: the phrase runs to the end")
                end = n
            tok = _Tok("phrase", text[i + 1 : end])
            i = end + 1
            if i < n and text[i] == "~":
                tok.slop, i = _suffix_number(text, i + 1)
                if tok.slop is None:
                    q.warnings.append("'~' after a phrase needs a number of words (\"a b\"~5); read as a phrase")
                elif tok.slop > MAX_SLOP:
                    q.warnings.append(f"proximity ~{tok.slop} cut to ~{MAX_SLOP}")
                    tok.slop = MAX_SLOP
            toks.append(tok)
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] not in _STOP_CHARS and not (text[j] == "+" and j > i):
            j += 1
        word = text[i:j]
        i = j
        if word in ("AND", "&&"):
            toks.append(_Tok("AND"))
            continue
        if word in ("OR",):
            toks.append(_Tok("OR"))
            continue
        if word == "NOT":
            toks.append(_Tok("NOT"))
            continue
        head, colon, value = word.partition(":")
        name = head.lower()
        if colon and name in _FILTERS:
            if not value and i < n and text[i] in _QUOTES:  # source:"Al Jazeera"
                close = _QUOTES[text[i]]
                end = text.find(close, i + 1)
                end = n if end < 0 else end
                value, i = text[i + 1 : end], end + 1
            _filter(name, value.strip(), q, negated=bool(toks) and toks[-1].kind in ("-", "NOT"))
            if toks and toks[-1].kind in ("-", "NOT"):
                toks.pop()
            continue
        if colon and name in _FIELDS:
            toks.append(_Tok("field", name))
            if value:
                toks.extend(_lex(value, q))  # title:word~1, title:سوري*
            elif i >= n or text[i].isspace():
                q.warnings.append(f"ignored {word!r}: a field with nothing after it")
                toks.pop()
            continue
        if colon and head.isascii() and head.isalpha() and value and not value.startswith("/"):
            q.warnings.append(f"{head}: is not a field (title:, source:, from:, to:); searched as text")
        toks.append(_word_tok(word, q))
        if i < n and text[i] == "+":  # a+b: a AND b
            toks.append(_Tok("AND"))
            i += 1
    return toks


def _word_tok(word: str, q: ParsedQuery) -> _Tok:
    tok = _Tok("word", word)
    tilde = word.rfind("~")
    if tilde > 0:
        number, end = _suffix_number(word, tilde + 1)
        if end == len(word):
            tok.text, tok.fuzzy = word[:tilde], -1 if number is None else number
            if tok.fuzzy > MAX_FUZZY:
                q.warnings.append(f"fuzzy ~{tok.fuzzy} cut to ~{MAX_FUZZY} (edits)")
                tok.fuzzy = MAX_FUZZY
    return tok


def _filter(name: str, value: str, q: ParsedQuery, negated: bool) -> None:
    if negated:
        q.warnings.append(f"ignored -{name}:{value}: a filter cannot be excluded")
        return
    if not value:
        q.warnings.append(f"ignored {name}: with no value")
    elif name == "source":
        q.sources.append(value)
    else:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            q.warnings.append(f"ignored {name}:{value!r} (expected YYYY-MM-DD)")
            return
        if name == "from":
            q.date_from = day
        else:
            q.date_to = day


# --------------------------------------------------------------------------- parser
Unary = tuple[Literal["", "+", "-"], Node, bool]  # (mark, node, quoted phrase)


class _Parser:
    def __init__(self, toks: list[_Tok], q: ParsedQuery, an: Analyzer) -> None:
        self.toks, self.i, self.q, self.an = toks, 0, q, an
        self.clauses = 0  # leaves so far
        self.typed: list[tuple[str, Leaf | None, bool]] = []  # (text, leaf or None for a stop word, negated)

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def warn(self, text: str) -> None:
        if text not in self.q.warnings:
            self.q.warnings.append(text)

    def starts_operand(self) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind not in (")", "AND", "OR")

    def sequence(self, depth: int, fld: Field, neg: bool = False) -> Node | None:
        """Juxtaposed operands joined by the default operator, up to a ``)`` or the end."""
        items: list[Unary] = []
        while True:
            tok = self.peek()
            if tok is None:
                break
            if tok.kind == ")":
                if depth > 0:
                    break
                self.warn("ignored a ')' with no '(' before it")
                self.i += 1
                continue
            if tok.kind in ("AND", "OR"):
                self.warn(f"ignored {tok.kind} with nothing before it")
                self.i += 1
                continue
            item = self.disjunction(depth, fld, neg)
            if item is not None:
                items.append(item)
        if self.q.default == "AND":
            return _combine([(m or "+", n, False) for m, n, _ in items])
        return _combine([(m or ("+" if quoted else ""), n, False) for m, n, quoted in items])

    def disjunction(self, depth: int, fld: Field, neg: bool) -> Unary | None:
        return self.chain("OR", lambda: self.conjunction(depth, fld, neg))

    def conjunction(self, depth: int, fld: Field, neg: bool) -> Unary | None:
        return self.chain("AND", lambda: self.unary(depth, fld, neg))

    def chain(self, op: Literal["AND", "OR"], operand: Callable[[], Unary | None]) -> Unary | None:
        """Operands joined by ``op``: one boolean whose operands are required (AND) or
        alternatives (OR); an excluded operand stays excluded (``a OR NOT b`` is a without b)."""
        parts = [operand()]
        while (tok := self.peek()) is not None and tok.kind == op:
            self.i += 1
            if not self.starts_operand():
                self.warn(f"ignored {op} with nothing after it")
                break
            parts.append(operand())
        live = [p for p in parts if p is not None]
        if len(parts) == 1 or len(live) <= 1:
            return live[0] if live else None
        joined: Literal["", "+", "-"] = "+" if op == "AND" else ""
        node = _combine([("-" if m == "-" else joined, n, False) for m, n, _ in live])
        return ("", node, False) if node is not None else None

    def unary(self, depth: int, fld: Field, neg: bool) -> Unary | None:
        mark: Literal["", "+", "-"] = ""
        negations = 0
        while (tok := self.peek()) is not None and tok.kind in ("+", "-", "NOT"):
            self.i += 1
            if tok.kind == "+":
                mark = mark or "+"
            else:
                negations += 1
        if negations:
            mark = "-" if negations % 2 else "+"
        if self.peek() is None or not self.starts_operand():
            if mark or negations:
                self.warn("ignored NOT/+/- with nothing after it")
            return None
        out = self.primary(depth, fld, neg != (mark == "-"))
        if out is None:
            return None
        node, quoted = out
        return (mark, node, quoted)

    def primary(self, depth: int, fld: Field, neg: bool) -> tuple[Node, bool] | None:
        tok = self.toks[self.i]
        self.i += 1
        if tok.kind == "field":
            nxt = self.peek()
            if nxt is None or nxt.kind not in ("word", "phrase", "("):
                self.warn('title: must be followed by a word, a "phrase" or a (group)')
                return None
            return self.primary(depth, "title", neg)
        if tok.kind == "(" and depth >= MAX_NESTING:
            self.warn(f"parentheses nested deeper than {MAX_NESTING} were ignored")
            while (nxt := self.peek()) is not None and nxt.kind == "(":
                self.i += 1
            if not self.starts_operand() or self.peek().kind in ("+", "-", "NOT", "field"):  # type: ignore[union-attr]
                return None
            tok = self.toks[self.i]
            self.i += 1
        if tok.kind == "(":
            node = self.sequence(depth + 1, fld, neg)
            if (close := self.peek()) is not None and close.kind == ")":
                self.i += 1
            else:
                self.warn("a '(' was not closed: the group runs to the end")
            if node is None:
                self.warn("ignored an empty group '()'")
                return None
            return node, False
        if tok.kind in ("+", "-", "NOT", "AND", "OR", ")"):  # unreachable by construction; be safe
            return None
        full = self.clauses >= MAX_CLAUSES
        leaf = self.leaf(tok, fld)
        if not full:
            self.typed.append((tok.text.rstrip("*") if tok.kind == "word" else tok.text, leaf, neg))
        return None if leaf is None else (leaf, tok.kind == "phrase")

    def leaf(self, tok: _Tok, fld: Field) -> Leaf | None:
        """Analyze one word or phrase; a hyphenated word (سوخوي-34) is a phrase of its parts,
        a stop word is nothing."""
        an, text = self.an, tok.text
        if tok.kind == "word" and text.endswith("*") and len(text) > 1 and tok.fuzzy is None:
            exact = an.exact_terms(text.rstrip("*"))
            if len(exact) == 1:
                return self.count(Prefix(text, exact[0], fld))
            if not exact:
                return None
            self.warn(f"{text!r}: a prefix must be one word; searched as a phrase")
        tokens = an.analyze(text.rstrip("*") if tok.kind == "word" else text)
        if fld == "title":
            tokens = [t for t in tokens if t.stem]  # titles are indexed by stem, stop words out
        if not tokens:
            return None
        if tok.kind == "phrase" or len(tokens) > 1:
            terms = tuple(t.stem if fld == "title" else t.exact for t in tokens)
            if tok.fuzzy is not None:
                self.warn(f"{text!r}: fuzzy '~' applies to one word; searched as a phrase")
            return self.count(Phrase(text, terms, tok.slop or 0, fld))
        stem = tokens[0].stem
        if not stem:
            return None
        if tok.fuzzy is not None:
            distance = _auto_distance(stem) if tok.fuzzy < 0 else tok.fuzzy
            if distance > 0:
                return self.count(Fuzzy(text, stem, distance, fld))
        return self.count(Term(text, stem, fld))

    def count(self, leaf: Leaf) -> Leaf | None:
        if self.clauses >= MAX_CLAUSES:
            self.warn(f"only the first {MAX_CLAUSES} query terms are used")
            return None
        self.clauses += 1
        return leaf


def _auto_distance(stem: str) -> int:
    """``word~`` alone: Elasticsearch's AUTO (no edit up to 2 letters, one up to 5, then two)."""
    return 0 if len(stem) <= 2 else 1 if len(stem) <= 5 else 2


def _combine(items: list[Unary]) -> Node | None:
    """One boolean of marked operands, simplified: a lone positive operand stands for itself,
    nested conjunctions and disjunctions are flattened, and a group of exclusions alone is
    folded into its parent (``a AND (NOT b)`` is ``a AND NOT b``; ``NOT (NOT b)`` is ``b``)."""
    must: list[Node] = []
    should: list[Node] = []
    must_not: list[Node] = []
    for mark, node, _ in items:
        if isinstance(node, Bool) and not node.positive:  # a group of exclusions alone
            if mark == "-":  # NOT (NOT a NOT b) = a OR b
                inner = node.must_not
                must.append(inner[0] if len(inner) == 1 else Bool(should=inner))
            else:  # its exclusions apply here, as in a OR NOT b (Lucene's group would match nothing)
                must_not.extend(node.must_not)
            continue
        target = must if mark == "+" else must_not if mark == "-" else should
        if isinstance(node, Bool) and mark == "+" and not node.should:
            must.extend(node.must)
            must_not.extend(node.must_not)
        elif isinstance(node, Bool) and mark == "" and not node.must and not node.must_not:
            should.extend(node.should)
        else:
            target.append(node)
    if not must and not should and not must_not:
        return None
    if len(should) == 1 and not must and not must_not:
        return should[0]  # a lone optional operand (a required one stays marked: meaning must obey it)
    if len(must) == 1 and not should and not must_not and isinstance(must[0], Bool):
        return must[0]
    return Bool(tuple(dict.fromkeys(must)), tuple(dict.fromkeys(should)), tuple(dict.fromkeys(must_not)))


def parse(text: str, analyzer: Analyzer | None = None, default: Operator = "OR") -> ParsedQuery:
    """Parse any string into a query; never raises. ``default``: the operator between
    juxtaposed words (``--and`` / the app's "all words" toggle)."""
    an = analyzer or default_analyzer()
    raw = text if isinstance(text, str) else str(text)
    q = ParsedQuery(raw=raw, default="AND" if default == "AND" else "OR")
    text = "".join("" if ch in IN_WORD_CONTROLS else ch if ch.isprintable() or ch.isspace() else " " for ch in raw)
    if len(text) > MAX_QUERY_CHARS:
        q.warnings.append(f"query cut to its first {MAX_QUERY_CHARS} characters")
        text = text[:MAX_QUERY_CHARS]
    parser = _Parser(_lex(text, q), q, an)
    q.tree = parser.sequence(0, "text")
    # embedded: the words and phrases that can match, as typed, with the stop words among them
    # (a query of stop words alone still searches by meaning); nothing for exclusions alone
    positive = set(leaves(q.tree))
    if not q.excluded_only:
        q.semantic_text = " ".join(
            text for text, leaf, neg in parser.typed if text.strip() and (leaf in positive if leaf is not None else not neg)
        )
    if q.date_from and q.date_to and q.date_from > q.date_to:
        q.warnings.append("from: is after to: — the dates were swapped")
        q.date_from, q.date_to = q.date_to, q.date_from
    return q
