"""The article model shared by the indexer, the stores and the search service."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Literal

SUFFIXES = (".txt", ".jsonl", ".csv", ".html", ".htm")  # the files articles are read from
Mode = Literal["hybrid", "keyword", "semantic"]
Sort = Literal["relevance", "newest"]
MODES: tuple[Mode, ...] = ("hybrid", "keyword", "semantic")
SORTS: tuple[Sort, ...] = ("relevance", "newest")


@dataclass(frozen=True)
class Article:
    """One news article as ingested. ``content_hash`` covers every field a reader sees."""

    id: str
    title: str
    body: str
    published_at: dt.datetime | None = None
    source: str = ""
    url: str = ""
    path: str = ""
    content_hash: str = ""
    story: str = ""  # read back from a store: the near-duplicate story it belongs to ('' = its own)

    @property
    def story_id(self) -> str:
        """The story it belongs to: a story is named by the id of its first article."""
        return self.story or self.id

    @staticmethod
    def make(
        id: str,
        title: str,
        body: str,
        published_at: dt.datetime | None = None,
        source: str = "",
        url: str = "",
        path: str = "",
    ) -> Article:
        """Build an article with its content hash (changes iff title/body/date/source/url do)."""
        payload = json.dumps(
            [title, body, published_at.isoformat() if published_at else None, source, url],
            ensure_ascii=False,
        )
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
        return Article(id, title, body, published_at, source, url, path, digest)

    @property
    def text(self) -> str:
        """Title and body as one text (the keyword fields are analyzed from this)."""
        return f"{self.title}\n{self.body}" if self.title else self.body


@dataclass(frozen=True)
class Passage:
    """A window of an article's body; ``start``/``end`` are offsets into ``Article.body``."""

    article_id: str
    n: int
    start: int
    end: int
    text: str
