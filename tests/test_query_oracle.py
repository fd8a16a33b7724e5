"""The oracle: on a generated archive, for 500 random boolean queries (words, phrases,
proximity, prefixes, fuzzy words, title: scoping, AND / OR / NOT / + / -, nested groups), the
keyword result set and its total equal what a brute-force evaluator computes over the analyzed
documents, on both backends; and hybrid and semantic hits obey every exclusion and required
group. The evaluator shares no code with the stores' walk: it reads the tree and the terms the
indexer stored, and measures edit distances itself."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from archive.config import ESSettings
from archive.embeddings import Embedder
from archive.model import Article
from archive.pipeline import Indexer, prepare
from archive.query import Bool, Fuzzy, Node, Phrase, Prefix, Term, constraint
from archive.search import SearchService
from archive.store import open_store
from archive.store.elastic import ElasticStore

from .conftest import _drop_alias_indices

VOCAB = [
    "karim",
    "karam",
    "kerim",
    "talib",
    "taliban",
    "talibs",
    "hamas",
    "hama",
    "homs",
    "idlib",
    "aleppo",
    "alepo",
    "روسيا",
    "ايران",
    "الجيش",
    "جيش",
    "سوريا",
    "حلب",
    "وحلب",
]
N_DOCS, N_QUERIES, N_MEANING = 80, 500, 60


class Doc:
    """The terms the indexer stored for an article, as token lists."""

    def __init__(self, article: Article) -> None:
        item = prepare(article)
        self.id = article.id
        self.stem, self.exact, self.title = item.stem.split(), item.exact.split(), item.title_stem.split()


def _osa(a: str, b: str) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap neighbours)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def _occurs(tokens: Sequence[str], terms: Sequence[str], slop: int, after: int = -1, first: bool = True) -> bool:
    """Some positions p1 < p2 < ... hold the terms, at most ``slop`` tokens between neighbours
    (every combination tried: no greedy shortcut)."""
    if not terms:
        return True
    lo = after + 1
    hi = len(tokens) if first else min(len(tokens), after + slop + 2)
    return any(tokens[p] == terms[0] and _occurs(tokens, terms[1:], slop, p, False) for p in range(lo, hi))


def evaluate(node: Node, doc: Doc, root: bool = True) -> bool:
    if isinstance(node, Bool):
        if any(evaluate(c, doc, False) for c in node.must_not):
            return False
        if not node.must and not node.should:
            return root  # exclusions alone: everything else (the root only)
        return all(evaluate(c, doc, False) for c in node.must) and (
            bool(node.must) or any(evaluate(c, doc, False) for c in node.should)
        )
    title = node.field == "title"
    if isinstance(node, Term):
        return node.stem in (doc.title if title else doc.stem)
    if isinstance(node, Phrase):
        tokens = doc.title if title else doc.exact
        if node.slop and len(node.terms) > 2:  # the documented rule: every neighbouring pair
            return all(_occurs(tokens, pair, node.slop) for pair in zip(node.terms, node.terms[1:], strict=False))
        return _occurs(tokens, node.terms, node.slop)
    if isinstance(node, Prefix):
        return any(t.startswith(node.prefix) for t in (doc.title if title else doc.exact))
    assert isinstance(node, Fuzzy)
    return any(_osa(node.stem, t) <= node.distance for t in (doc.title if title else doc.stem))


def _typo(r: random.Random, word: str) -> str:
    i = r.randrange(len(word))
    edit = r.choice(["sub", "del", "swap", "ins"])
    if edit == "sub":
        return word[:i] + r.choice("aeiokm") + word[i + 1 :]
    if edit == "del" and len(word) > 3:
        return word[:i] + word[i + 1 :]
    if edit == "swap" and i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + r.choice("aeiokm") + word[i:]


def _leaf(r: random.Random, bodies: list[list[str]]) -> str:
    kind = r.choice(["word"] * 5 + ["phrase", "near", "prefix", "fuzzy", "title"])
    word = r.choice(VOCAB)
    if kind in ("phrase", "near"):
        body = r.choice(bodies)
        i = r.randrange(len(body) - 5)
        gap = r.randint(0, 3) if kind == "near" else 0
        words = [body[i], body[i + 1 + gap]] + ([body[i + 2 + gap]] if r.random() < 0.3 else [])
        if r.random() < 0.2:
            words = r.sample(VOCAB, 2)
        return '"' + " ".join(words) + '"' + (f"~{r.randint(1, 3)}" if kind == "near" else "")
    if kind == "prefix":
        return word[: r.randint(2, 4)] + "*"
    if kind == "fuzzy":
        return (_typo(r, word) if word.isascii() else word) + r.choice(["~1", "~2", "~"])
    if kind == "title":
        return "title:" + r.choice([word, word[:3] + "*", f'"{word} {r.choice(VOCAB)}"'])
    return word


def _query(r: random.Random, bodies: list[list[str]], depth: int) -> str:
    mark = r.choice(["", "", "", "", "+", "-", "NOT "])
    if depth == 0 or r.random() < 0.3:
        return mark + _leaf(r, bodies)
    parts = [_query(r, bodies, depth - 1) for _ in range(r.randint(2, 4))]
    text = parts[0]
    for p in parts[1:]:
        text += r.choice([" AND ", " OR ", " | ", " "]) + p
    return f"{mark}({text})" if r.random() < 0.7 else text


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Article], list[list[str]]]:
    r = random.Random(7)
    work = tmp_path_factory.mktemp("oracle")
    articles, bodies = [], []
    for i in range(N_DOCS):
        body = [r.choice(VOCAB) for _ in range(r.randint(6, 24))]
        title = " ".join(r.choice(VOCAB) for _ in range(r.randint(0, 3)))
        bodies.append(body)
        articles.append(Article(id=f"o{i}", title=title, body=" ".join(body), source="oracle"))
    feed = work / "corpus" / "feed.jsonl"
    feed.parent.mkdir()
    feed.write_text(
        "".join(
            json.dumps({"id": a.id, "title": a.title, "body": a.body, "source": a.source}, ensure_ascii=False) + "\n"
            for a in articles
        ),
        encoding="utf-8",
    )
    return feed.parent, articles, bodies


@pytest.fixture(scope="module")
def services(
    archive: tuple[Path, list[Article], list[list[str]]],
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    es_url: str,
) -> Iterator[dict[str, SearchService]]:
    corpus, articles, _ = archive
    data = tmp_path_factory.mktemp("oracle-lance")
    settings = ESSettings.from_env(url=es_url, index=f"oracle-{uuid.uuid4().hex[:8]}")
    for store in (open_store(data), ElasticStore(settings)):
        report = Indexer(store, embedder, progress=False).run([corpus])
        assert report.added == len(articles) and not report.errors, report.errors
    yield {
        "lancedb": SearchService(open_store(data, read_only=True), embedder, floor=None),
        "elasticsearch": SearchService(ElasticStore(settings, read_only=True), embedder, floor=None),
    }
    _drop_alias_indices(settings)


def test_keyword_results_equal_the_brute_force_sets_on_both_backends(
    archive: tuple[Path, list[Article], list[list[str]]], services: dict[str, SearchService]
) -> None:
    _, articles, bodies = archive
    docs = [Doc(a) for a in articles]
    r = random.Random(2026)
    sizes, kinds = [], set()
    for n in range(N_QUERIES):
        text = _query(r, bodies, r.randint(1, 3))
        q = services["lancedb"].parse(text)
        want = {d.id for d in docs if q.tree is not None and evaluate(q.tree, d)}
        sizes.append(len(want))
        kinds.update(type(leaf).__name__ + leaf.field for leaf in q.positive_leaves())
        for backend, svc in services.items():
            res = svc.search(text, mode="keyword", page_size=1000)
            got = {h.article.id for h in res.hits}
            assert got == want, (n, backend, text, sorted(got ^ want)[:5])
            assert res.total == len(want), (n, backend, text)
    # the test can fail: the queries select everything from nothing to the whole archive
    assert sum(0 < s < N_DOCS for s in sizes) >= N_QUERIES * 0.5, sizes
    assert sum(s == 0 for s in sizes) >= 10 and sum(s == N_DOCS for s in sizes) >= 1
    assert {"Termtext", "Termtitle", "Phrasetext", "Phrasetitle", "Prefixtext", "Prefixtitle", "Fuzzytext"} <= kinds


def test_meaning_obeys_every_exclusion_and_required_group(
    archive: tuple[Path, list[Article], list[list[str]]], services: dict[str, SearchService]
) -> None:
    """No floor here, so the semantic channel offers every article: only the query's logic can
    keep one out."""
    _, articles, bodies = archive
    docs = {a.id: Doc(a) for a in articles}
    r = random.Random(99)
    constrained = 0
    for n in range(N_MEANING):
        text = _query(r, bodies, 2)
        q = services["lancedb"].parse(text)
        rule = constraint(q.tree)
        constrained += rule is not None
        allowed = {i for i, d in docs.items() if rule is None or evaluate(rule, d)}
        for backend, svc in services.items():
            for mode in ("hybrid", "semantic"):
                res = svc.search(text, mode=mode, page_size=1000)  # type: ignore[arg-type]
                got = {h.article.id for h in res.hits}
                assert got <= allowed, (n, backend, mode, text, sorted(got - allowed)[:5])
                if q.semantic_text and mode == "semantic":
                    assert got == allowed, (n, backend, text)  # the rest of the archive is offered
    assert constrained >= N_MEANING // 3
    for backend, svc in services.items():  # optional words only rank: by meaning, every article is offered
        for text in ("karim", "karim taliban", '"karim taliban" OR hama', "لافروف~1"):
            assert svc.search(text, mode="semantic", page_size=1000).total == N_DOCS, (backend, text)
        assert svc.search('"karim taliban"', mode="semantic", page_size=1000).total < N_DOCS  # a phrase is required
