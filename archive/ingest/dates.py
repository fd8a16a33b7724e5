"""Publication dates as Arabic news writes them: named months in their Levantine/Iraqi,
Egyptian/Gulf and Maghrebi forms, day-first numeric dates, ISO; with a following time (ص/م);
and Hijri dates (``١٤ ربيع الأول ١٤٣٧ هـ``, as Gulf and Saudi papers date articles), converted
with the Umm al-Qura calendar (``hijridate``). Where a line gives both calendars (``… هـ الموافق
… م``) the Gregorian date is kept, and a disagreement is said."""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

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

# Hijri months as the press writes them (with and without hamza, both names of months 4 to 6)
_HIJRI_RAW = {
    1: ["محرم", "المحرم"],
    2: ["صفر"],
    3: ["ربيع الأول", "ربيع أول"],
    4: ["ربيع الثاني", "ربيع الآخر", "ربيع ثاني", "ربيع آخر"],
    5: ["جمادى الأولى", "جمادى الأول", "جمادى أولى"],
    6: ["جمادى الآخرة", "جمادى الثانية", "جمادى الآخر", "جمادى الثاني", "جمادى آخرة"],
    7: ["رجب"],
    8: ["شعبان"],
    9: ["رمضان"],
    10: ["شوال"],
    11: ["ذو القعدة", "ذي القعدة", "ذو القعده"],
    12: ["ذو الحجة", "ذي الحجة", "ذو الحجه"],
}
_HIJRI = {normalize(name): m for m, names in _HIJRI_RAW.items() for name in names}
_HIJRI_ALT = "|".join(sorted((re.escape(k) for k in _HIJRI), key=len, reverse=True))
# the year marker هـ (normalized: ه), optional: the month names are Hijri only
_DATE_HIJRI = re.compile(rf"(?<!\d)(\d{{1,2}}){_SEP}({_HIJRI_ALT}){_SEP}(\d{{4}})(?!\d)(?:\s*ه(?![\w]))?")
HIJRI_YEARS = range(1300, 1600)  # what a news date's Hijri year can be; others are not Hijri dates
UMM_AL_QURA = (1343, 1500)  # the years hijridate converts
AGREE_DAYS = 2  # Umm al-Qura and a local moon sighting can start a month a day or two apart
DATE_WORDS = {"م", "ص", "ه", normalize("الموافق"), normalize("موافق")}  # words a dateline holds beside dates


class DateRead(NamedTuple):
    """A date read from text: ``when`` (None if none, or none that exists), ``hijri`` the Hijri
    date read (normalized) when there was one, ``note`` what a reader of the job record should
    know about it (the caller quotes the text as written beside it)."""

    when: dt.datetime | None
    hijri: str = ""
    note: str = ""


def _hijri(norm: str) -> tuple[dt.date | None, str, str, int] | None:
    """(Gregorian day or None, the Hijri date (normalized), what to note, match end) of the
    first Hijri date in normalized ``norm``."""
    m = next((m for m in _DATE_HIJRI.finditer(norm) if int(m.group(3)) in HIJRI_YEARS), None)
    if m is None:
        return None
    written = m.group(0).strip()
    y, mo, d = int(m.group(3)), _HIJRI[m.group(2)], int(m.group(1))
    from hijridate import Hijri

    try:
        day = Hijri(y, mo, d).to_gregorian()
    except OverflowError:
        lo, hi = UMM_AL_QURA
        return None, written, f"a Hijri date outside the Umm al-Qura calendar ({lo}–{hi} AH): no date", m.end()
    except ValueError as exc:
        return None, written, f"a Hijri date that is no day of the calendar ({exc}): no date", m.end()
    return dt.date(day.year, day.month, day.day), written, "", m.end()


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
    return _TIME.sub(" ", _DATE_ISO.sub(" ", _DATE_NUMERIC.sub(" ", _DATE_NAMED.sub(" ", _DATE_HIJRI.sub(" ", norm)))))


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
    """The first date in ``text`` (``read_date``)."""
    return read_date(text).when


def read_date(text: str) -> DateRead:
    """The first date in ``text``: ``الإثنين 21/ديسمبر/2015 - 10:38 م``, ``٥ آذار ٢٠١٦``,
    ``21/12/2015`` (day first) or ISO, with its time when one follows (ص/م = am/pm); or a Hijri
    date converted to the Gregorian calendar. Both in one line: the Gregorian date is kept."""
    norm = normalize(text)
    found = _first_date(norm)
    hijri = _hijri(norm)
    if not found:
        if hijri is None:
            return DateRead(None)
        day, written, note, end = hijri
        if day is None:
            return DateRead(None, written, note)
        return DateRead(_with_time(dt.datetime(day.year, day.month, day.day), norm, end), written, f"Hijri, read as {day}")
    y, mo, d, end = found
    try:
        date = dt.datetime(y, mo, d)
    except ValueError:
        return DateRead(None)
    if hijri is None:
        return DateRead(_with_time(date, norm, end))
    day, written, note, _ = hijri
    if day is not None and abs((day - date.date()).days) > AGREE_DAYS:
        note = f"its Hijri date ({day}) and Gregorian date ({date.date()}) disagree: the Gregorian date kept"
    return DateRead(_with_time(date, norm, end), written, note)


def _with_time(date: dt.datetime, norm: str, end: int) -> dt.datetime:
    """``date`` at the time written just after the date (ending at ``end``), if one is."""
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
