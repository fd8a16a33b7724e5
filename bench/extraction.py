"""Article text from saved news pages: how much boilerplate reaches the archive, how much of the
article is kept.

Pages of our own making: each seed article laid out in six templates of real Arabic news sites
(semantic <article>, WordPress-style div soup, a print view, a page whose comments and related
links sit inside the article's container, one with scripts, styles and JSON-LD in the body, one
with the article in a table), with boilerplate planted around it (menus, breaking-news tickers,
share buttons, newsletter boxes, "most read" lists, comments, related links, copyright lines).
Measured per extractor: the share of planted boilerplate lines found in the extracted text (goal
0 %) and the share of article paragraphs found (goal 100 %).

    python bench/extraction.py
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from metrics import write_report  # noqa: E402

BOILERPLATE = {
    "logo": ["صحيفة الوطن العربي"],
    "menu": ["الرئيسية", "أخبار محلية", "عربي ودولي", "اقتصاد وأعمال", "رياضة", "منوعات", "كتاب وآراء"],
    "ticker": ["عاجل: مجلس الأمن يعقد جلسة طارئة مساء اليوم لبحث التطورات الأخيرة"],
    "share": ["شارك على فيسبوك", "غرّد على تويتر", "أرسل عبر واتساب", "طباعة المقال"],
    "newsletter": ["اشترك في النشرة البريدية ليصلك كل جديد أخبارنا يوميا على بريدك الإلكتروني"],
    "most_read": [
        "الأكثر قراءة",
        "ارتفاع أسعار الذهب في الأسواق المحلية مع بداية تعاملات الأسبوع",
        "منتخبنا الوطني يستعد لمواجهة حاسمة في تصفيات كأس العالم",
        "تعرف على حالة الطقس المتوقعة خلال عطلة نهاية الأسبوع في مختلف المناطق",
    ],
    "comments": [
        "التعليقات",
        "مقال رائع جدا وشكرا للكاتب على هذا التحليل العميق والمفصل للأحداث",
        "أختلف مع ما ورد في المقال من استنتاجات حول موقف الدول المجاورة من الأزمة",
    ],
    "related": [
        "أخبار ذات صلة",
        "وزير الخارجية يلتقي نظيره الروسي في موسكو لبحث آخر تطورات الأزمة السورية",
        "الأمم المتحدة تحذر من تدهور الأوضاع الإنسانية في المناطق المحاصرة",
    ],
    "footer": ["جميع الحقوق محفوظة 2015", "من نحن", "اتصل بنا", "سياسة الخصوصية"],
}
SCRIPT = "var _gaq = _gaq || []; _gaq.push(['_setAccount', 'UA-000000-1']); document.write('إعلان مدفوع');"
STYLE = ".article p { line-height: 1.8; font-family: 'Droid Arabic Naskh'; }"


def _ul(items: list[str], cls: str) -> str:
    links = "".join(f'<li><a href="/x/{i}">{html.escape(t)}</a></li>' for i, t in enumerate(items))
    return f'<ul class="{cls}">{links}</ul>'


def _box(key: str, cls: str) -> str:
    head, *rest = BOILERPLATE[key]
    return f'<div class="{cls}"><h3>{html.escape(head)}</h3>' + _ul(rest, "list") + "</div>"


def _comments() -> str:
    head, *rest = BOILERPLATE["comments"]
    return (
        f'<section id="comments"><h3>{head}</h3>'
        + "".join(f'<div class="comment"><p>{html.escape(c)}</p></div>' for c in rest)
        + "</section>"
    )


def _chrome_top() -> str:
    return (
        f"<header><div class='logo'>{BOILERPLATE['logo'][0]}</div><nav>{_ul(BOILERPLATE['menu'], 'menu')}</nav></header>"
        f"<div class='ticker'><marquee>{BOILERPLATE['ticker'][0]}</marquee></div>"
    )


def _share() -> str:
    return "<div class='share'>" + "".join(f"<a href='#'>{s}</a>" for s in BOILERPLATE["share"]) + "</div>"


def _newsletter() -> str:
    form = "<form><input type='email'><button>اشترك</button></form>"
    return f"<div class='newsletter'><p>{BOILERPLATE['newsletter'][0]}</p>{form}</div>"


def _footer() -> str:
    return "<footer>" + "".join(f"<p>{f}</p>" for f in BOILERPLATE["footer"]) + "</footer>"


def _paras(paras: list[str]) -> str:
    return "".join(f"<p>{html.escape(p)}</p>" for p in paras)


def _head(title: str) -> str:
    return (
        f"<head><meta charset='utf-8'><title>{html.escape(title)} | صحيفة الوطن العربي</title>"
        "<meta property='og:site_name' content='صحيفة الوطن العربي'>"
        "<meta property='article:published_time' content='2015-12-21T10:38:00+03:00'>"
        f"<style>{STYLE}</style><script>{SCRIPT}</script></head>"
    )


TEMPLATES: dict[str, Callable[[str, list[str]], str]] = {
    "semantic": lambda t, ps: (
        f"<html dir='rtl'>{_head(t)}<body>{_chrome_top()}<main><article><h1>{html.escape(t)}</h1>"
        f"<time>21 ديسمبر 2015</time>{_paras(ps)}{_share()}</article>"
        f"<aside>{_box('most_read', 'most-read')}{_newsletter()}</aside>{_comments()}{_box('related', 'related')}</main>"
        f"{_footer()}</body></html>"
    ),
    "div_soup": lambda t, ps: (
        f"<html>{_head(t)}<body><div id='wrap'>{_chrome_top()}<div class='row'><div class='col-8'>"
        f"<div class='post'><h2 class='title'>{html.escape(t)}</h2><div class='entry-content'>{_paras(ps)}</div>{_share()}</div>"
        f"{_box('related', 'related-posts')}{_comments()}</div><div class='col-4 sidebar'>{_box('most_read', 'widget')}"
        f"{_newsletter()}</div></div>{_footer()}</div></body></html>"
    ),
    "print_view": lambda t, ps: (
        f"<html>{_head(t)}<body><div class='print'><h1>{html.escape(t)}</h1>{_paras(ps)}</div>{_footer()}</body></html>"
    ),
    "inside_article": lambda t, ps: (
        f"<html>{_head(t)}<body>{_chrome_top()}<article class='story'><h1>{html.escape(t)}</h1>{_share()}"
        f"<div class='story-body'>{_paras(ps)}</div>{_newsletter()}{_box('related', 'related')}{_comments()}</article>"
        f"{_box('most_read', 'most-read')}{_footer()}</body></html>"
    ),
    "scripts_in_body": lambda t, ps: (
        f"<html>{_head(t)}<body>{_chrome_top()}<script>{SCRIPT}</script><div class='article'><h1>{html.escape(t)}</h1>"
        + "".join(f"<p>{html.escape(p)}</p><script>{SCRIPT}</script>" for p in ps)
        + '<script type=\'application/ld+json\'>{"@type": "NewsArticle", "headline": "عنوان"}</script>'
        f"<noscript>فعّل جافاسكريبت لمشاهدة المحتوى</noscript></div><style>{STYLE}</style>"
        f"{_box('most_read', 'most-read')}{_footer()}</body></html>"
    ),
    "table_layout": lambda t, ps: (
        f"<html>{_head(t)}<body><table width='100%'><tr><td colspan='2'>{_chrome_top()}</td></tr><tr>"
        f"<td class='main'><font size='5'><b>{html.escape(t)}</b></font><br>"
        + "<br><br>".join(html.escape(p) for p in ps)
        + f"</td><td class='side'>{_box('most_read', 'most-read')}{_newsletter()}</td></tr>"
        f"<tr><td colspan='2'>{_footer()}</td></tr></table></body></html>"
    ),
}

NOT_TEXT = ["_gaq", "line-height", "NewsArticle", "فعّل جافاسكريبت"]  # what scripts, styles and noscript hold


def pages() -> list[tuple[str, str, str, list[str]]]:
    """(name, html, title, article paragraphs) for every seed article in every template."""
    out = []
    for f in sorted((ROOT / "seeds").glob("*.txt")):
        lines = [ln.strip() for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
        title, paras = lines[0], [ln for ln in lines[1:] if len(ln.split()) >= 6]
        for name, template in TEMPLATES.items():
            out.append((f"{f.stem}/{name}", template(title, paras), title, paras))
    return out


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def measure(extract: Callable[[str], str]) -> dict:
    planted = [b for lines in BOILERPLATE.values() for b in lines]
    leaked = kept = total_paras = total_boiler = not_text = 0
    worst: list[str] = []
    t0 = time.perf_counter()
    for name, page, _title, paras in pages():
        text = _flat(extract(page))
        lines_in = [b for b in planted if _flat(b) in text]
        leaked += len(lines_in)
        total_boiler += len(planted)
        kept += sum(1 for p in paras if _flat(p) in text)
        total_paras += len(paras)
        not_text += sum(1 for s in NOT_TEXT if s in text)
        lost = sum(1 for p in paras if _flat(p) not in text)
        if lines_in or lost:
            worst.append(f"{name}: {len(lines_in)} boilerplate lines ({'; '.join(lines_in[:3])}), {lost} paragraphs lost")
    return {
        "boilerplate_share": round(leaked / total_boiler, 4),
        "paragraphs_kept": round(kept / total_paras, 4),
        "script_style_leaks": not_text,
        "pages": len(pages()),
        "ms_per_page": round((time.perf_counter() - t0) * 1000 / len(pages()), 2),
        "misses": worst[:12],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="bench/results/extraction.json")
    args = ap.parse_args()
    import trafilatura

    from archive.ingest import parse_html
    from archive.ingest.pages import EXTRACT, visible_text

    def traf(**kw: bool) -> Callable[[str], str]:
        return lambda h: trafilatura.extract(h, output_format="txt", **kw) or ""

    extractors: dict[str, Callable[[str], str]] = {
        "visible text (before)": visible_text,
        "trafilatura defaults (comments on)": traf(),
        "trafilatura, product settings": traf(**EXTRACT),
        "  the same, balanced": traf(**{**EXTRACT, "favor_precision": False}),
        "  the same, favor_recall": traf(**{**EXTRACT, "favor_precision": False, "favor_recall": True}),
        "parse_html (title + body)": lambda h: (lambda p: p.title + "\n" + p.body)(parse_html(h)),
    }
    report = {}
    print(f"{'extractor':34} {'boilerplate':>11} {'paragraphs':>10} {'script/style':>12} {'ms/page':>8}")
    for name, fn in extractors.items():
        r = measure(fn)
        report[name] = r
        shares = f"{100 * r['boilerplate_share']:10.1f}% {100 * r['paragraphs_kept']:9.1f}%"
        print(f"{name:34} {shares} {r['script_style_leaks']:12} {r['ms_per_page']:8.2f}")
        for m in r["misses"][:3]:
            print(f"    {m}")
    write_report(args.out, report)


if __name__ == "__main__":
    main()
