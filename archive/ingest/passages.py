"""Passages: the overlapping windows of an article's body that are embedded."""

from __future__ import annotations

import re

from archive.model import Article, Passage

PASSAGE_WORDS = 200
PASSAGE_OVERLAP = 40
_WORD = re.compile(r"\S+")


def passages(article: Article, words: int = PASSAGE_WORDS, overlap: int = PASSAGE_OVERLAP) -> list[Passage]:
    """Overlapping windows of ~``words`` words over the body (multilingual-e5 reads 512 tokens,
    about 320 Arabic words, so 200 leaves room for the title the embedder prepends)."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(article.body)]
    if not spans:
        return [Passage(article.id, 0, 0, len(article.body), article.body)]
    out: list[Passage] = []
    step = max(1, words - overlap)
    for n, i in enumerate(range(0, len(spans), step)):
        chunk = spans[i : i + words]
        start, end = chunk[0][0], chunk[-1][1]
        out.append(Passage(article.id, n, start, end, article.body[start:end]))
        if i + words >= len(spans):
            break
    return out
