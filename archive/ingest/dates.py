"""Publication dates as Arabic news writes them: named months in their Levantine/Iraqi,
Egyptian/Gulf and Maghrebi forms, day-first numeric dates, ISO; with a following time (ص/م)."""

from __future__ import annotations

import datetime as dt
import re

from archive.analysis import normalize

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


def without_dates(norm: str) -> str:
    """Normalized ``norm`` with every date and time in it blanked out (what else a line says)."""
    return _TIME.sub(" ", _DATE_ISO.sub(" ", _DATE_NUMERIC.sub(" ", _DATE_NAMED.sub(" ", norm))))


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


def parse_when(value: str) -> dt.datetime | None:
    """A date field (JSONL/CSV, a page's meta tag): ISO first, else as Arabic text writes it."""
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return parse_arabic_date(value)
