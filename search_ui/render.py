"""HTML for the app's results, article view, similar-articles list, landing page, captions
and query help.

Every piece of article text arrives here either as highlighter output (escaped, then marked)
or is escaped here by the highlighter's ``escape`` (which also drops bidi overrides); links
only ever point at this app (permalinks) or at http(s) URLs. Text from articles sits in
``<bdi>`` / ``dir="auto"`` so right-to-left text cannot reorder the page around it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from urllib.parse import urlencode, urlsplit

from archive.highlight import escape
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
.caption { color: rgba(49, 51, 63, .6); font-size: .875rem; text-align: right; margin: .2rem 0; }
.help td, .help th { text-align: right; padding: .15rem .5rem; }
.help code { white-space: nowrap; }
.landing { direction: rtl; text-align: right; }
.landing .facts { display: flex; gap: 2.5rem; flex-wrap: wrap; margin: .3rem 0 .8rem; }
.landing .facts b { display: block; font-size: 1.6rem; }
.landing ul { margin: .2rem 1.2rem .8rem 0; padding: 0; }
.landing .examples a { display: inline-block; margin: 0 0 .4rem .6rem; padding: .1rem .6rem;
  border: 1px solid #c9d6f5; border-radius: 1rem; text-decoration: none; }
/* the query box: right-to-left for Arabic, and each query laid out by its own first letter */
div[data-testid="stTextInput"] input { direction: rtl; unicode-bidi: plaintext; text-align: right; }
div[data-testid="stButton"] button p, div[data-testid="stDownloadButton"] button p { white-space: nowrap; }
</style>
"""


def _e(text: object) -> str:
    return escape("" if text is None else str(text))


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
    return (
        f'<div class="meta" dir="rtl"><bdi>المصادر · Sources</bdi> &nbsp; {src}'
        + (f" &nbsp;|&nbsp; <bdi>السنوات · Years</bdi> &nbsp; {yrs}" if yrs else "")
        + "</div>"
    )


def caption_html(*parts: str) -> str:
    """A caption line read right to left, each part isolated so Arabic, English and numbers
    keep their own order inside it (``5 نتيجة · results`` · ``10 ms`` · ``صفحة 1 من 1``)."""
    return '<div class="caption" dir="rtl">' + " · ".join(f"<bdi>{_e(p)}</bdi>" for p in parts if p) + "</div>"


# (examples, meaning): each example in its own direction, so an operator stays where it is typed
# (-داعش reads minus first, right to left; from:2015-01-01 reads left to right)
_HELP_ROWS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("الجيش السوري",),
        "كلمات بأي تصريف، مع التشكيل أو بدونه، أي منها · words, any inflection, with or without diacritics, any of them",
    ),
    (('"قاعدة همدان"', "«حزب الله»"), "عبارة مطابقة (مطلوبة) · exact phrase (required)"),
    (("روسيا AND إيران",), "كلاهما · both"),
    (("روسيا OR إيران", "روسيا | إيران"), "أحدهما · either"),
    (("(روسيا OR إيران) AND حلب",), "أقواس للتجميع · parentheses group"),
    (("+حلب",), "كلمة مطلوبة · required word"),
    (("-داعش", "NOT داعش"), "استبعاد (للنتائج الدلالية أيضا) · exclude (semantic hits too)"),
    (('"بوتين الأسد"~5',), "الكلمتان بهذا الترتيب وبينهما 5 كلمات على الأكثر · in this order, at most 5 words between"),
    (("لافروف~1",), "كلمة تقريبية (خطأ إملائي واحد) · fuzzy: one edit away (typos, spellings)"),
    (("سوري*",), "بادئة · prefix"),
    (("title:روسيا", 'title:"الجيش السوري"'), "في العنوان فقط · in the title only"),
    (("source:العربية",), "مصدر واحد · one source"),
    (("from:2015-01-01 to:2015-12-31",), "نطاق التاريخ · date range"),
)
_HELP_NOTES = (
    "AND / OR / NOT بالأحرف الكبيرة؛ NOT أولا ثم AND ثم OR ثم المسافة · upper-case operators; "
    "NOT binds first, then AND, then OR, then juxtaposition (\u2018All words\u2019 makes it AND)"
)


def _direction(text: str) -> str:
    """The direction of ``text``'s first strong letter."""
    for ch in text:
        if ch.isalpha():
            return "rtl" if "\u0590" <= ch <= "\u08ff" or "\ufb1d" <= ch <= "\ufefc" else "ltr"
    return "ltr"


def help_html() -> str:
    """The query syntax in both languages, right to left, examples as they are typed."""
    rows = "".join(
        "<tr><td>"
        + " ".join(f'<code dir="{_direction(x)}">{_e(x)}</code>' for x in examples)
        + "</td><td>"
        + " · ".join(f"<bdi>{_e(part)}</bdi>" for part in meaning.split(" · "))
        + "</td></tr>"
        for examples, meaning in _HELP_ROWS
    )
    return (
        '<div class="help" dir="rtl"><p><b>صيغة البحث · Query syntax</b></p><table>'
        "<tr><th>اكتب · type</th><th>المعنى · meaning</th></tr>" + rows + "</table>"
        f"<p>{_e(_HELP_NOTES)}</p>"
        '<p dir="ltr">English queries find Arabic articles by meaning (semantic and hybrid modes).</p></div>'
    )


def landing_html(
    articles: int,
    span: tuple[dt.date, dt.date] | None,
    sources: dict[str, int],
    latest: Sequence[Article],
    examples: Sequence[str],
) -> str:
    """The archive at a glance before any search: how many articles, from when to when, from
    which sources (each a link to its articles), the latest ones, and example queries that
    find something in it (links)."""
    when = f"{span[0]:%Y-%m-%d} – {span[1]:%Y-%m-%d}" if span else "—"
    named = {s: n for s, n in sources.items() if s}
    facts = (
        f"<div><b>{articles}</b>مقالة · articles</div><div><b><bdi>{when}</bdi></b>الفترة · dates</div>"
        f"<div><b>{len(named)}</b>مصدر · sources</div>"
    )
    src = " · ".join(
        f'<a href="?{_e(urlencode({"source": s}))}" target="_self"><bdi>{_e(s)}</bdi></a> ({n})'
        for s, n in list(named.items())[:12]
    )
    items = "".join(
        f'<li><a href="?{_e(urlencode({"article": a.id}))}" target="_self"><bdi>{_e(a.title or a.id)}</bdi></a>'
        f' <span class="meta">{_meta(a)}</span></li>'
        for a in latest
    )
    chips = "".join(f'<a href="?{_e(urlencode({"q": q}))}" target="_self"><bdi>{_e(q)}</bdi></a>' for q in examples)
    return (
        f'<div class="landing" dir="rtl"><div class="facts">{facts}</div>'
        + (f'<div class="meta"><bdi>المصادر · Sources</bdi> &nbsp; {src}</div>' if src else "")
        + (f'<h4>جرّب · Try</h4><div class="examples">{chips}</div>' if chips else "")
        + (f"<h4>أحدث المقالات · Latest articles</h4><ul>{items}</ul>" if items else "")
        + "</div>"
    )


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
    badge = {
        "semantic": '<span class="badge">تطابق دلالي · semantic match</span>',
        "both": '<span class="badge">كلمات + معنى · keyword + semantic</span>',
    }.get(hit.match, "")
    if hit.weak:
        badge = '<span class="badge weak">تطابق أضعف · weaker match (below the relevance floor)</span>'
    label = '<div class="meta">أفضل مقطع · best-matching passage</div>' if hit.match == "semantic" else ""
    why = [
        "<li>"
        + (
            f"ترتيب الكلمات · keyword rank #{hit.keyword_rank} (BM25 {hit.keyword_score})"
            if hit.keyword_rank
            else "ترتيب الكلمات · keyword: no match"
        )
        + "</li>",
        "<li>"
        + (
            f"الترتيب الدلالي · semantic rank #{hit.semantic_rank} (cosine {hit.semantic_score})"
            if hit.semantic_rank
            else "الترتيب الدلالي · semantic: not in the top"
        )
        + "</li>",
        f"<li>الدرجة المدمجة · fused score (RRF) {hit.fused_score}</li>",
        f"<li>كلمات مطابقة · matched words: {hit.matched_words}</li>",
    ]
    passage = ""
    if hit.passage is not None and hit.match == "both":
        text = hit.passage.text if len(hit.passage.text) <= 600 else hit.passage.text[:600] + " …"
        passage = f'<div class="passage" dir="auto">{_e(text)}</div>'
    return (
        f'<div class="result" dir="rtl"><div class="title" dir="auto"><a href="{link}" target="_self">{rank}. {title}</a></div>'
        f'<div class="meta" dir="auto">{_meta(a)} {badge}</div>{label}'
        f'<div class="snippet" dir="auto">{hit.snippet_html}</div>{versions_html(hit, state)}'
        f'<details><summary>لماذا هذه النتيجة؟ · Why this result</summary><ul dir="auto">{"".join(why)}</ul>{passage}</details>'
        "</div>"
    )


def versions_html(hit: Hit, state: ViewState) -> str:
    """The other versions of a grouped story (the same text republished), each a permalink."""
    if not hit.versions:
        return ""
    n = len(hit.versions) + 1
    lis = "".join(
        f'<li><a href="{_e(state.href(view="article", article=v.id))}" target="_self"><bdi>{_e(v.title or v.id)}</bdi></a>'
        f' <span class="meta">{_meta(v)}</span></li>'
        for v in hit.versions
    )
    return (
        f'<details class="versions"><summary>{n} نسخ من الخبر نفسه · {n} versions of this story</summary>'
        f'<ul dir="auto">{lis}</ul></details>'
    )


def results_html(hits: Sequence[Hit], first_rank: int, state: ViewState) -> str:
    return (
        '<div class="results" dir="rtl">' + "".join(result_html(i, h, state) for i, h in enumerate(hits, first_rank)) + "</div>"
    )


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
