"""Saved news pages (.html): the article's title, body, date and site.

The body is what ``trafilatura`` finds to be the article (menus, sidebars, comments, related
links, share buttons and footers left out; scripts, styles and links never reach the text);
title, date and site come from our own rules (the page's <h1> or <title>, its meta tags, then
what ``parse_text`` reads in the text), which read Arabic dates better than generic ones.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

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


# chosen by bench/extraction.py: the article's paragraphs whole, nothing of the page around them
EXTRACT: dict[str, Any] = {
    "include_comments": False,
    "include_tables": True,
    "include_links": False,
    "include_images": False,
    "favor_precision": True,  # kept no site header in a layout table; lost no paragraph
}
_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—:«»]{1,2}\s+")


def page_title(title: str, site: str) -> str:
    """A <title> without the site's name around it (``خبر | صحيفة الوطن``): the segment that is
    not the site (``og:site_name``), else the longest."""
    parts = [p for p in _TITLE_SEPARATORS.split(title) if p.strip()]
    if len(parts) < 2:
        return title
    rest = [p for p in parts if normalize(p) != normalize(site)] if site else parts
    return max(rest or parts, key=len).strip()


def _parsed(page: str) -> _HTMLText:
    p = _HTMLText()
    p.feed(page)
    p.close()
    return p


def visible_text(page: str) -> str:
    """Everything a browser shows of a page, scripts, styles and navigation dropped: what is kept
    when no article is found in it."""
    return "".join(_parsed(page).parts)


def article_text(page: str) -> str | None:
    """The article's text as trafilatura extracts it, a table's cells as lines of their own (old
    sites lay pages out in tables); None when it finds no article."""
    import trafilatura

    text = trafilatura.extract(page, output_format="txt", **EXTRACT)
    if not text:
        return None
    lines = []
    for line in text.splitlines():
        row = line.strip()
        if len(row) > 1 and row[0] == "|" and row[-1] == "|":  # trafilatura writes a table row as | a | b |
            lines += [cell.strip() for cell in row[1:-1].split("|") if cell.strip()]
        else:
            lines.append(line)
    return "\n".join(lines) or None


def parse_html(text: str, publisher: str = "") -> Parsed:
    """Title, body, date and source of a saved news page (its meta tags first, then what
    ``parse_text`` finds in its text)."""
    p = _parsed(text)
    extracted = article_text(text)
    notes: tuple[str, ...] = () if extracted else ("no article found in the page: its visible text is kept, boilerplate too",)
    raw = extracted or "".join(p.parts)
    lines = [ln for ln in (" ".join(line.split()) for line in raw.splitlines()) if ln]
    title = p.h1 or page_title(p.title, p.meta.get("og:site_name", ""))
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
        notes + (() if published else in_text.notes),
    )
