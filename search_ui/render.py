"""HTML for the app's results, article view and similar-articles list.

Every piece of article text arrives here either as highlighter output (escaped, then marked)
or is escaped here; links only ever point at this app (permalinks) or at http(s) URLs. Text
from articles sits in ``<bdi>`` / ``dir="auto"`` so right-to-left text, or a stray bidi
override, cannot reorder the page around it.
"""

from __future__ import annotations

import html
import re
from typing import Sequence
from urllib.parse import urlsplit

from archive.model import Article
from archive.search import Hit
from search_ui.state import ViewState

CSS = """
<style>
.results, .result, .article { direction: rtl; text-align: right;
  font-family: "Noto Naskh Arabic", "Amiri", "Geeza Pro", "Segoe UI", "Tahoma", "Arial", sans-serif; }
.result { border-bottom: 1px solid #e5e5e5; padding: .6rem 0 .8rem; }
.result .title { font-size: 1.15rem; font-weight: 600; margin: 0 0 .25rem; line-height: 1.6; }
.result .title a { text-decoration: none; }
.result .meta, .article .meta { color: #666; font-size: .85rem; }
.result .snippet { line-height: 1.9; font-size: 1.02rem; }
.result mark, .article mark { background: #ffe58f; padding: 0 .1em; border-radius: 2px; }
.badge { font-size: .75rem; background: #e8f0fe; color: #1a56db; border-radius: 8px; padding: 0 .45em; }
.result details { font-size: .85rem; color: #444; }
.result details ul { margin: .2rem 1.2rem; padding: 0; }
.passage { background: #f6f8fa; border-right: 3px solid #1a56db; padding: .3rem .6rem; margin-top: .3rem; }
.article .body { white-space: pre-wrap; line-height: 2; font-size: 1.05rem; }
.article .title { font-size: 1.5rem; font-weight: 700; line-height: 1.6; margin-bottom: .3rem; }
</style>
"""


def _e(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def external_link(url: str, label: str) -> str:
    """A link for http(s) URLs only; anything else (``javascript:``, ``data:``) stays text."""
    if urlsplit(url.strip()).scheme.lower() in ("http", "https"):
        return f'<a href="{_e(url.strip())}" target="_blank" rel="noopener noreferrer nofollow">{_e(label)}</a>'
    return _e(label)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md(text: object) -> str:
    """Text for Streamlit's Markdown elements (captions, alerts): every Markdown character
    escaped, so an article's source or a file name can neither format nor link anything."""
    return _MD_SPECIAL.sub(r"\\\1", "" if text is None else str(text))


def facets_html(sources: dict[str, int], years: dict[int, int]) -> str:
    """Counts in the current result set, by source and by year."""
    src = " · ".join(f"<bdi>{_e(s or '—')}</bdi> ({n})" for s, n in sources.items())
    yrs = " · ".join(f"{y} ({n})" for y, n in years.items())
    return (f'<div class="meta" dir="rtl">المصادر · Sources: {src}'
            + (f" &nbsp;|&nbsp; السنوات · Years: {yrs}" if yrs else "") + "</div>")


def app_link(href: str, label: str) -> str:
    """A link to another view of this app (same tab)."""
    return f'<a href="{_e(href)}" target="_self">{_e(label)}</a>'


def _when(a: Article) -> str:
    return a.published_at.strftime("%Y-%m-%d") if a.published_at else ""


def _meta(a: Article) -> str:
    parts = [f"<bdi>{_e(x)}</bdi>" for x in (a.source, _when(a)) if x]
    return " · ".join(parts)


def result_html(rank: int, hit: Hit, state: ViewState) -> str:
    """One result: linked title, source and date, highlighted snippet, and why it matched."""
    a = hit.article
    link = _e(state.href(view="article", article=a.id))
    title = hit.title_html or _e(a.id)
    badge = {"semantic": '<span class="badge">تطابق دلالي · semantic match</span>',
             "both": '<span class="badge">كلمات + معنى · keyword + semantic</span>'}.get(hit.match, "")
    label = ('<div class="meta">أفضل مقطع · best-matching passage</div>' if hit.match == "semantic" else "")
    why = ["<li>" + (f"ترتيب الكلمات · keyword rank #{hit.keyword_rank} (BM25 {hit.keyword_score})"
                     if hit.keyword_rank else "ترتيب الكلمات · keyword: no match") + "</li>",
           "<li>" + (f"الترتيب الدلالي · semantic rank #{hit.semantic_rank} (cosine {hit.semantic_score})"
                     if hit.semantic_rank else "الترتيب الدلالي · semantic: not in the top") + "</li>",
           f"<li>الدرجة المدمجة · fused score (RRF) {hit.fused_score}</li>",
           f"<li>كلمات مطابقة · matched words: {hit.matched_words}</li>"]
    passage = ""
    if hit.passage is not None and hit.match == "both":
        text = hit.passage.text if len(hit.passage.text) <= 600 else hit.passage.text[:600] + " …"
        passage = f'<div class="passage" dir="auto">{_e(text)}</div>'
    return (
        f'<div class="result" dir="rtl"><div class="title" dir="auto"><a href="{link}" target="_self">{rank}. {title}</a></div>'
        f'<div class="meta" dir="auto">{_meta(a)} {badge}</div>{label}'
        f'<div class="snippet" dir="auto">{hit.snippet_html}</div>'
        f'<details><summary>لماذا هذه النتيجة؟ · Why this result</summary><ul dir="auto">{"".join(why)}</ul>{passage}</details>'
        "</div>"
    )


def results_html(hits: Sequence[Hit], first_rank: int, state: ViewState) -> str:
    return '<div class="results" dir="rtl">' + "".join(result_html(i, h, state) for i, h in enumerate(hits, first_rank)) + "</div>"


def article_html(a: Article, title_html: str, body_html: str) -> str:
    """The full article, matches of the current query marked, with its metadata."""
    facts = [_meta(a)]
    if a.url:
        facts.append(external_link(a.url, a.url))
    facts.append(f"<bdi>{_e(a.path or a.id)}</bdi>")
    return (
        f'<div class="article" dir="rtl"><div class="title" dir="auto">{title_html or _e(a.id)}</div>'
        f'<div class="meta" dir="auto">{" · ".join(f for f in facts if f)}</div>'
        f'<div class="body" dir="auto">{body_html}</div></div>'
    )


def similar_html(items: Sequence[tuple[Article, float]], state: ViewState) -> str:
    """Vector neighbours of an article, each a permalink."""
    if not items:
        return '<div class="results" dir="rtl"><p>لا مقالات مشابهة · no similar articles</p></div>'
    lis = "".join(
        f'<li><a href="{_e(state.href(view="article", article=a.id))}" target="_self"><bdi>{_e(a.title or a.id)}</bdi></a>'
        f' <span class="meta">{_meta(a)} · {score:.2f}</span></li>'
        for a, score in items
    )
    return f'<div class="results" dir="rtl"><ul>{lis}</ul></div>'
