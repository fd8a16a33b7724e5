"""Reading sources into ``Article`` objects: .txt news files, saved HTML pages, JSONL and CSV.

Bad input never stops a run: every problem becomes an ``IngestError`` naming the file (and line
or row), and the caller goes on with the rest. What was read but deserves a word (a legacy
encoding) becomes a ``Notice``.
"""

from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import hashlib
import io
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import NamedTuple

from archive.analysis import default_analyzer, normalize
from archive.model import SUFFIXES, Article, Passage

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ARTICLE_CHARS = 1_000_000  # ~170k Arabic words, ~900 passages: longer is not one news article
FUTURE_SLACK = dt.timedelta(days=1)  # time zones: "tomorrow" somewhere is today here
PASSAGE_WORDS = 200
PASSAGE_OVERLAP = 40


@dataclass(frozen=True)
class _Located:
    where: str  # ``path`` or ``path:line``
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class IngestError(_Located):
    """A problem with one file (or one line/row of it): it was not indexed."""


class Notice(_Located):
    """Something worth saying about input that was read fine (e.g. the encoding it was in)."""


# --------------------------------------------------------------------------- dates
# Month names, normalized (archive.analysis.normalize), in Levantine/Iraqi, Egyptian/Gulf
# and Maghrebi forms.
_MONTHS_RAW = {
    1: ["كانون الثاني", "يناير", "جانفي", "ينار"],
    2: ["شباط", "فبراير", "فيفري"],
    3: ["آذار", "مارس"],
    4: ["نيسان", "أبريل", "ابريل", "إبريل", "أفريل"],
    5: ["أيار", "مايو", "ماي"],
    6: ["حزيران", "يونيو", "يونيه", "جوان"],
    7: ["تموز", "يوليو", "يوليه", "جويلية"],
    8: ["آب", "أغسطس", "اغسطس", "أوت"],
    9: ["أيلول", "سبتمبر"],
    10: ["تشرين الأول", "أكتوبر", "اكتوبر"],
    11: ["تشرين الثاني", "نوفمبر", "نونبر"],
    12: ["كانون الأول", "ديسمبر", "دجنبر"],
}
_MONTHS = {normalize(name): m for m, names in _MONTHS_RAW.items() for name in names}
_MONTH_ALT = "|".join(sorted((re.escape(k) for k in _MONTHS), key=len, reverse=True))
_SEP = r"\s*[/\-.\s]\s*"
_DATE_NAMED = re.compile(rf"(?<!\d)(\d{{1,2}}){_SEP}({_MONTH_ALT}){_SEP}(\d{{4}})(?!\d)")
_DATE_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{4})(?!\d)")
# a minus sign before the year (``-0001-11-30``) is a negative year: not a date here
_DATE_ISO = re.compile(r"(?<!\d)(?<!^-)(?<![\s(\[:=]-)(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?")
_TIME = re.compile(r"(?<!\d)(\d{1,2}):(\d{2})(?:\s*(ص|م))?(?![\d:])")


def _first_date(norm: str) -> tuple[int, int, int, int] | None:
    """(year, month, day, match end) of the first date-shaped text in normalized ``norm``,
    whether or not that day exists."""
    found: tuple[int, int, int, int] | None = None  # y, m, d, match end
    m = _DATE_NAMED.search(norm)
    if m:
        found = (int(m.group(3)), _MONTHS[m.group(2)], int(m.group(1)), m.end())
    else:
        m = _DATE_ISO.search(norm)
        if m:
            found = (int(m.group(1)), int(m.group(2)), int(m.group(3)), m.end())
        else:
            m = _DATE_NUMERIC.search(norm)
            if m:
                found = (int(m.group(3)), int(m.group(2)), int(m.group(1)), m.end())
    return found


def impossible_date(text: str) -> bool:
    """Whether ``text`` holds something written as a date that is no day of the calendar
    (``30/فبراير/2016``): worth a word, since it is dropped."""
    found = _first_date(normalize(text))
    if not found:
        return False
    try:
        dt.datetime(found[0], found[1], found[2])
    except ValueError:
        return True
    return False


def parse_arabic_date(text: str) -> dt.datetime | None:
    """The first date in ``text``: ``الإثنين 21/ديسمبر/2015 - 10:38 م``, ``٥ آذار ٢٠١٦``,
    ``21/12/2015`` (day first) or ISO; with its time when one follows (ص/م = am/pm)."""
    norm = normalize(text)
    found = _first_date(norm)
    if not found:
        return None
    y, mo, d, end = found
    try:
        date = dt.datetime(y, mo, d)
    except ValueError:
        return None
    t = _TIME.search(norm, end, end + 20)
    if t:
        hour, minute = int(t.group(1)), int(t.group(2))
        if t.group(3) == "م" and hour < 12:
            hour += 12
        elif t.group(3) == "ص" and hour == 12:
            hour = 0
        if hour < 24 and minute < 60:
            date = date.replace(hour=hour, minute=minute)
    return date


# --------------------------------------------------------------------------- plain text
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
    rest = _TIME.sub(" ", _DATE_ISO.sub(" ", _DATE_NUMERIC.sub(" ", _DATE_NAMED.sub(" ", norm))))
    words = [w for w in re.split(r"[\s\-–,،|]+", rest) if w and w not in _WEEKDAYS and w not in ("م", "ص")]
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
            date = parse_arabic_date(ln)
            if date and _is_dateline(ln):
                published = date
                continue
            if date is None and _is_dateline(ln) and impossible_date(ln):
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
            published = parse_arabic_date(ln)
            if published:
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


# --------------------------------------------------------------------------- files
def _texty(text: str) -> bool:
    """Mostly letters, digits, spaces and punctuation: not binary data read as characters."""
    if not text:
        return True
    bad = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\n\r\f") or 0xE000 <= ord(ch) <= 0xF8FF or ch == "\ufffd")
    return bad / len(text) < 0.01


def _arabic_or_latin(text: str) -> bool:
    """Nearly all characters ASCII, Arabic (any block) or general punctuation: what a UTF-16
    guess must produce to be believed (a wrong byte order yields CJK-like noise)."""
    ok = sum(
        1
        for ch in text
        if ord(ch) < 0x80 or 0x0600 <= ord(ch) <= 0x08FF or 0xFB50 <= ord(ch) <= 0xFEFF or 0x2000 <= ord(ch) <= 0x206F
    )
    return bool(text) and ok / len(text) >= 0.95


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (BOM or not), UTF-16 with a BOM or without one (told by where
    its zero bytes fall), else Windows-1256 (Arabic); ``ValueError`` for binary data."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    zeros = data.count(0)
    if zeros * 20 > len(data) and len(data) % 2 == 0:  # ASCII spaces and digits in UTF-16 are half zero
        for enc in ("utf-16-le", "utf-16-be"):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                continue
            if _arabic_or_latin(text) and _texty(text):
                return text, enc
    try:
        text = data.decode("utf-8")
        if _texty(text.replace("\x00", "")):
            return text, "utf-8"  # a stray NUL is reported by the caller
    except UnicodeDecodeError:
        pass
    if zeros:
        raise ValueError("binary data (NUL bytes; not UTF-8, UTF-16 or Windows-1256 text)")
    text = data.decode("cp1256", errors="replace")
    if not _texty(text):
        raise ValueError("binary data (control bytes; not UTF-8, UTF-16 or Windows-1256 text)")
    return text, "cp1256"


# --------------------------------------------------------------------------- HTML
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
    published = _parse_when(when) if when else None
    in_text = parse_text(body, publisher) if body else Parsed("", "", None, publisher)
    return Parsed(
        title,
        body,
        published or in_text.published,
        p.meta.get("og:site_name", "") or in_text.source,
        () if published else in_text.notes,
    )


def stable_id(kind: str, key: str) -> str:
    """A short id that stays the same for the same url or relative path."""
    return f"{kind}-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _clean(value: object) -> str:
    return "" if value is None else str(value).strip()


def _parse_when(value: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return parse_arabic_date(value)


def _checked(article: Article, where: str) -> Iterator[Article | IngestError | Notice]:
    """The article, or an error when it is too long. A date in the future is a typo more often
    than not (2035 for 2015): the article is kept without a date, and a notice says so."""
    size = len(article.title) + len(article.body)
    if size > MAX_ARTICLE_CHARS:
        yield IngestError(
            where,
            f"article is {size / 1e6:.1f} M characters, over the {MAX_ARTICLE_CHARS // 1_000_000} M "
            "limit for one article: split it",
        )
        return
    if article.published_at and article.published_at > dt.datetime.now() + FUTURE_SLACK:
        yield Notice(where, f"publication date {article.published_at:%Y-%m-%d} is in the future: indexed without a date")
        article = Article.make(article.id, article.title, article.body, None, article.source, article.url, article.path)
    yield article


def _record(rec: dict, where: str, rel: str, line: int, publisher: str = "") -> Iterator[Article | IngestError | Notice]:
    """One JSONL/CSV record; ``body`` is required, the rest optional (``source`` defaults to
    ``publisher``). Without an id or url, the id comes from the file's stored path and the line
    number."""
    body = _clean(rec.get("body"))
    if not body:
        yield IngestError(where, "missing field 'body'")
        return
    url = _clean(rec.get("url"))
    given = _clean(rec.get("id"))
    art_id = given if given else stable_id("u", url) if url else stable_id("p", f"{rel}:{line}")
    raw_date = _clean(rec.get("published_at"))
    published = _parse_when(raw_date)
    if raw_date and published is None:
        yield IngestError(where, f"field 'published_at' is not a date: {raw_date!r}")
        return
    yield from _checked(
        Article.make(
            id=art_id,
            title=_clean(rec.get("title")),
            body=body,
            published_at=published,
            source=_clean(rec.get("source")) or publisher,
            url=url,
            path=rel,
        ),
        where,
    )


def _first_time(
    item: Article | IngestError | Notice, first: dict[str, int], where: str, line: int
) -> Article | IngestError | Notice:
    """``item``, or an error naming both lines when its id came earlier in the same file (the
    first one wins, as across files)."""
    if isinstance(item, Article):
        if item.id in first:
            return IngestError(f"{where}:{line}", f"duplicate article id {item.id!r} (first at line {first[item.id]}); skipped")
        first[item.id] = line
    return item


def stored_path(path: Path, root: Path | None = None, prefix: str = "") -> str:
    """The path an article of ``path`` is stored under: relative to its source directory ``root``
    and led by the source's name, so it is the same from any working directory or machine."""
    rel = path.relative_to(root).as_posix() if root and path != root else path.name
    return f"{prefix}/{rel}" if prefix else rel


def read_file(
    path: Path, root: Path | None = None, prefix: str = "", publisher: str = ""
) -> Iterator[Article | IngestError | Notice]:
    """Articles (or errors) of one file, stored under ``stored_path(path, root, prefix)``;
    ``publisher``: the source of articles that name none themselves."""
    rel = stored_path(path, root, prefix)
    where = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            yield IngestError(where, f"file is {size / 1e6:.0f} MB, over the {MAX_FILE_BYTES // 2**20} MiB limit")
            return
        text, encoding = decode(path.read_bytes())
    except OSError as exc:
        yield IngestError(where, f"cannot read: {exc.strerror or exc}")
        return
    except ValueError as exc:
        yield IngestError(where, f"cannot read: {exc}")
        return
    if "\x00" in text:
        yield IngestError(where, "contains NUL bytes: not a text file")
        return
    if encoding not in ("utf-8", "utf-8-sig"):
        yield Notice(where, f"decoded as {encoding}")
    suffix = path.suffix.lower()
    if suffix in (".txt", ".html", ".htm"):
        limit = MAX_ARTICLE_CHARS * (4 if suffix != ".txt" else 1) + 10_000  # markup is not text
        if len(text) > limit:
            yield IngestError(
                where,
                f"{len(text) / 1e6:.1f} M characters, over the {MAX_ARTICLE_CHARS // 1_000_000} M "
                "limit for one article: split it",
            )
            return
        title, body, published, source, notes = (parse_text if suffix == ".txt" else parse_html)(text, publisher)
        if not any(ch.isalnum() for ch in title + body):
            yield IngestError(where, "empty article (no text)")
            return
        yield from (Notice(where, n) for n in notes)
        yield from _checked(Article.make(stable_id("p", rel), title, body or title, published, source, "", rel), where)
    elif suffix == ".jsonl":
        first: dict[str, int] = {}
        for no, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                yield IngestError(f"{where}:{no}", f"invalid JSON: {exc.msg}")
                continue
            if not isinstance(rec, dict):
                yield IngestError(f"{where}:{no}", "a line must be a JSON object")
                continue
            yield from (_first_time(item, first, where, no) for item in _record(rec, f"{where}:{no}", rel, no, publisher))
    elif suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "body" not in [f.strip() for f in reader.fieldnames]:
            yield IngestError(where, f"CSV has no 'body' column (columns: {reader.fieldnames})")
            return
        first = {}
        for no, row in enumerate(reader, 2):
            rec = {(k or "").strip(): v for k, v in row.items()}
            yield from (_first_time(item, first, where, no) for item in _record(rec, f"{where}:{no}", rel, no, publisher))
    else:
        yield IngestError(where, f"unsupported file type {suffix!r} (expected {', '.join(SUFFIXES)})")


def _selected(rel: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Glob filters on the path relative to the source directory (``*`` also crosses ``/``)."""
    if include and not any(fnmatch.fnmatchcase(rel, g) for g in include):
        return False
    return not any(fnmatch.fnmatchcase(rel, g) for g in exclude)


def _drain(problems: list[OSError], root: Path) -> Iterator[IngestError]:
    """Walk errors as ingest errors: an unreadable directory is reported, never a silent gap."""
    while problems:
        err = problems.pop(0)
        yield IngestError(str(err.filename or root), f"cannot read directory: {err.strerror or err}")


def discover(
    paths: Iterable[Path], include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> Iterator[tuple[Path, Path | None] | IngestError]:
    """(file, root) for every supported file under ``paths`` whose path relative to its directory
    passes the ``include``/``exclude`` globs; sorted, symlink loops skipped."""
    for p in paths:
        if not p.exists():
            yield IngestError(str(p), "no such file or directory")
        elif p.is_file():
            yield (p, None)
        else:
            seen: set[tuple[int, int]] = set()
            problems: list[OSError] = []
            for dirpath, dirnames, filenames in os.walk(p, followlinks=True, onerror=problems.append):
                yield from _drain(problems, p)
                st = os.stat(dirpath)
                if (st.st_dev, st.st_ino) in seen:
                    dirnames[:] = []
                    yield IngestError(dirpath, "symbolic link loop (this directory was already read): skipped")
                    continue
                seen.add((st.st_dev, st.st_ino))
                dirnames.sort()
                for name in sorted(filenames):
                    f = Path(dirpath) / name
                    if (
                        f.suffix.lower() in SUFFIXES
                        and not name.startswith(".")
                        and _selected(f.relative_to(p).as_posix(), include, exclude)
                    ):
                        yield (f, p)
            yield from _drain(problems, p)


def iter_articles(paths: Iterable[Path], publisher: str = "") -> Iterator[Article | IngestError | Notice]:
    """Every article under ``paths`` (files or directories), with an error for each bad input.
    Articles are stored under their directory's name (``seeds/000_….txt``), whether the
    directory or the file was given."""
    for item in discover(paths):
        if isinstance(item, IngestError):
            yield item
        else:
            f, root = item
            yield from read_file(f, root, (root or f.parent).resolve().name, publisher)


# --------------------------------------------------------------------------- passages
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
