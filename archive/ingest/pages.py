"""Saved news pages (.html): the article's title, body, date and site."""

from __future__ import annotations

from html.parser import HTMLParser

from archive.analysis import normalize
from archive.ingest.dates import parse_when
from archive.ingest.text import Parsed, parse_text

_SKIP_TAGS = {"script", "style", "noscript", "template", "iframe", "svg", "head", "nav", "footer", "form", "button"}
_BLOCK_TAGS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "article", "section", "tr", "blockquote", "pre"}


class _HTMLText(HTMLParser):
    """Visible text of a saved page (scripts, styles and navigation dropped), its <title>/<h1>,
    and the publication metadata pages commonly carry."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self.h1 = ""
        self.meta: dict[str, str] = {}
        self._skip = 0
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            a = {k: v or "" for k, v in attrs}
            key = (a.get("property") or a.get("name") or a.get("itemprop") or "").lower()
            if key and a.get("content"):
                self.meta.setdefault(key, a["content"])
            return
        if tag in _SKIP_TAGS and tag != "head":
            self._skip += 1
        self._in.append(tag)
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and tag != "head" and self._skip:
            self._skip -= 1
        if tag in self._in:
            while self._in and self._in.pop() != tag:
                pass
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if "title" in self._in and not self.title:
            self.title = " ".join(data.split())
            return
        if self._skip or "head" in self._in:
            return
        if "h1" in self._in and not self.h1:
            self.h1 = " ".join(data.split())
        self.parts.append(data)


def parse_html(text: str, publisher: str = "") -> Parsed:
    """Title, body, date and source of a saved news page (its meta tags first, then what
    ``parse_text`` finds in its text)."""
    p = _HTMLText()
    p.feed(text)
    p.close()
    lines = [ln for ln in (" ".join(raw.split()) for raw in "".join(p.parts).splitlines()) if ln]
    title = p.h1 or p.title
    if lines and title and normalize(lines[0]) == normalize(title):
        lines = lines[1:]
    body = "\n".join(lines)
    when = next((p.meta[k] for k in ("article:published_time", "datepublished", "date", "pubdate") if k in p.meta), "")
    published = parse_when(when) if when else None
    in_text = parse_text(body, publisher) if body else Parsed("", "", None, publisher)
    return Parsed(
        title,
        body,
        published or in_text.published,
        p.meta.get("og:site_name", "") or in_text.source,
        () if published else in_text.notes,
    )
