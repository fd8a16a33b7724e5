"""A plain-text news article read as a journalist wrote it: the headline line, the dateline,
the source named in its last lines, share buttons and repeated sub-headings dropped."""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

from archive.analysis import default_analyzer, normalize
from archive.ingest.dates import DATE_WORDS, impossible_date, read_date, without_dates

_BOILERPLATE = {
    normalize(w)
    for w in (
        "شارك",
        "شارك المقال",
        "مشاركة",
        "طباعة",
        "طباعه",
        "أرسل",
        "ارسل لصديق",
        "حفظ",
        "تويتر",
        "فيسبوك",
        "واتساب",
        "اقرأ أيضا",
        "اقرأ أيضاً",
        "إقرأ أيضا",
        "اقرأ المزيد",
        "تابعونا",
        "التعليقات",
        "أضف تعليق",
    )
}
_BOILER_HEADS = sorted((b for b in _BOILERPLATE if " " not in b), key=len, reverse=True)
# Agencies and outlets that sign articles on a line of their own.
_SOURCES = {
    normalize(s): s
    for s in (
        "العربية",
        "الجزيرة",
        "رويترز",
        "فرانس برس",
        "أ ف ب",
        "ا ف ب",
        "أ.ف.ب",
        "الأناضول",
        "سانا",
        "روسيا اليوم",
        "سكاي نيوز عربية",
        "بي بي سي",
        "د ب أ",
        "يو بي آي",
        "وام",
        "واس",
        "قنا",
        "كونا",
        "بترا",
        "المصري اليوم",
        "الأهرام",
        "الشرق الأوسط",
        "العربي الجديد",
        "الحياة",
        "النهار",
        "السفير",
        "الخليج",
        "البيان",
        "إرم نيوز",
    )
}
# Last lines that close an article without naming anyone ("ended", "to be continued").
_CLOSERS = {normalize(w) for w in ("انتهى", "النهاية", "يتبع", "المزيد", "تابع")}
SOURCE_MAX_WORDS = 4
_SOURCE_LINE = re.compile(r"^\s*[(\[]?\s*(?:المصدر|مصدر)\s*[:：]\s*(.+?)\s*[)\]]?\s*$")
_WEEKDAYS = {normalize(d) for d in ("السبت", "الأحد", "الاثنين", "الإثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة")}
TITLE_MAX_WORDS = 30


def _is_boilerplate(line: str, headings: set[str]) -> bool:
    """Share/print buttons, and a button label glued to a repeated sub-heading
    (``طباعة الجيش السوري يتقدم``)."""
    norm = normalize(line)
    if norm in _BOILERPLATE:
        return True
    for head in _BOILER_HEADS:
        if norm.startswith(head + " ") and norm[len(head) + 1 :] in headings:
            return True
    return False


def _is_dateline(line: str) -> bool:
    """A line that is only a date (weekday, date, time): metadata, not article text."""
    norm = normalize(line)
    rest = without_dates(norm)
    words = [w for w in re.split(r"[\s\-–,،|]+", rest) if w and w not in _WEEKDAYS and w not in DATE_WORDS]
    return len(words) == 0


def _is_name_line(line: str) -> bool:
    """A short line that names someone rather than says something: at most four words of
    letters only (no digits or sentence punctuation), no stop word, not opened by the
    conjunction و/ف and not a closing word such as ``انتهى`` (``هسبريس``, ``اليوم السابع``,
    ``الوكالة الوطنية للإعلام``, but not ``وتستمر المعارك`` or ``في حلب``)."""
    words = line.split()
    if not 1 <= len(words) <= SOURCE_MAX_WORDS or len(line) > 40 or normalize(line) in _CLOSERS:
        return False
    if not all(ch.isalpha() or ch.isspace() for ch in line):
        return False
    first = normalize(words[0])
    if len(first) > 3 and first[0] in "وف" and normalize(line) not in _SOURCES:
        return False
    return all(tok.stem for tok in default_analyzer().analyze(line))


def _short_title(line: str) -> str:
    """A lead paragraph used as headline: its first sentence, at most 20 words."""
    first = re.split(r"(?<=[.!؟?])\s", line, maxsplit=1)[0]
    words = first.split()
    return " ".join(words[:20]) + ("…" if len(words) > 20 else "")


class Parsed(NamedTuple):
    """What a .txt or .html article yields; ``notes``: what was dropped and deserves a word."""

    title: str
    body: str
    published: dt.datetime | None
    source: str
    notes: tuple[str, ...] = ()


def parse_text(text: str, publisher: str = "") -> Parsed:
    """Title, body, date and source of a plain-text news article. The source is a trailing
    ``المصدر: X`` line, a known agency, ``publisher`` (the source the caller says these files
    come from), or, when no publisher is given, a trailing line that is a name (``_is_name_line``);
    without any of them it is ``publisher``."""
    lines = [ln.replace("\u00a0", " ").strip() for ln in text.splitlines()]
    counts: dict[str, int] = {}
    for ln in lines:
        if ln:
            key = normalize(ln)
            counts[key] = counts.get(key, 0) + 1
    headings = {k for k, c in counts.items() if c > 1 and len(k.split()) <= 8}
    # headline words also appear as a printed sub-heading under some sites' print buttons
    nonempty = [ln for ln in lines if ln]
    if nonempty:
        first = normalize(nonempty[0])
        headings |= {k for k in counts if len(k.split()) <= 8 and first.startswith(k + " ")}

    published: dt.datetime | None = None
    source = ""
    notes: list[str] = []
    kept: list[str] = []
    seen_headings: set[str] = set()
    header_zone = 6  # a dateline is looked for among the first non-empty lines only
    seen_lines = 0
    for ln in lines:
        if not ln:
            kept.append("")
            continue
        seen_lines += 1
        if _is_boilerplate(ln, headings):
            continue
        if published is None and seen_lines <= header_zone:
            read = read_date(ln)
            if _is_dateline(ln):
                if read.note:  # a Hijri date: the line as written stays in the job record
                    notes.append(f"header date {ln!r}: {read.note}")
                if read.when:
                    published = read.when
                    continue
                if not read.note and impossible_date(ln):
                    notes.append(f"header date {ln!r} is no day of the calendar: indexed without a date")
        key = normalize(ln)
        if key in headings:
            if key in seen_headings:
                continue
            seen_headings.add(key)
        kept.append(ln)

    # a trailing signature line: "المصدر: X", a known agency, the publisher, or a name
    while kept and not kept[-1]:
        kept.pop()
    if len([k for k in kept if k]) > 1:  # a headline alone is never a signature
        last = kept[-1]
        m = _SOURCE_LINE.match(last)
        if m:
            source = m.group(1)
            kept.pop()
        elif normalize(last) in _SOURCES or normalize(last) == normalize(publisher) or (not publisher and _is_name_line(last)):
            source = last
            kept.pop()
    source = source or publisher
    if published is None:
        for ln in [k for k in kept if k][:header_zone]:
            read = read_date(ln)
            if read.when:
                published = read.when
                if read.note:
                    notes.append(f"date in {ln!r}: {read.note}")
                break

    text_lines = kept
    while text_lines and not text_lines[0]:
        text_lines.pop(0)
    if not text_lines:
        return Parsed("", "", published, source, tuple(notes))
    head = text_lines[0]
    if len(head.split()) <= TITLE_MAX_WORDS:
        title, body_lines = head, text_lines[1:]
    else:
        title, body_lines = _short_title(head), text_lines
    body = "\n".join(_squeeze_blank(body_lines)).strip()
    return Parsed(title, body, published, source, tuple(notes))


def _squeeze_blank(lines: list[str]) -> list[str]:
    out: list[str] = []
    for ln in lines:
        if ln or (out and out[-1]):
            out.append(ln)
    return out
