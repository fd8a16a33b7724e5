"""Attention over time: how many matching articles were published per day, week, month or
year, beside how many articles the archive holds in the same bucket under the same filters.
The share (matches / articles, as Media Cloud reports it) tells a rise in coverage from a rise
in the archive; every bucket of the archive's span is listed, empty ones too, because a gap in
coverage is itself something a researcher reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

Interval = Literal["day", "week", "month", "year"]
INTERVALS: tuple[Interval, ...] = get_args(Interval)
MAX_BUCKETS = 200  # "auto" takes the finest interval that needs at most this many buckets


@dataclass(frozen=True)
class Bucket:
    start: dt.date
    end: dt.date  # the bucket's last day
    matches: int
    articles: int  # every article of the bucket under the same source and date filters

    @property
    def share(self) -> float:
        return self.matches / self.articles if self.articles else 0.0


def start_of(day: dt.date, interval: Interval) -> dt.date:
    """The first day of the bucket holding ``day`` (weeks begin on Monday, as ISO weeks do)."""
    if interval == "week":
        return day - dt.timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    if interval == "year":
        return day.replace(month=1, day=1)
    return day


def _next(start: dt.date, interval: Interval) -> dt.date | None:
    """The first day of the following bucket; None past the calendar's end."""
    try:
        if interval == "month":
            return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
        if interval == "year":
            return start.replace(year=start.year + 1)
        return start + dt.timedelta(days=7 if interval == "week" else 1)
    except (OverflowError, ValueError):
        return None


def _count(first: dt.date, last: dt.date, interval: Interval) -> int:
    if interval == "day":
        return (last - first).days + 1
    if interval == "week":
        return (start_of(last, "week") - start_of(first, "week")).days // 7 + 1
    if interval == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return last.year - first.year + 1


def auto_interval(first: dt.date, last: dt.date) -> Interval:
    """The finest interval that shows the span in at most ``MAX_BUCKETS`` buckets."""
    return next((i for i in INTERVALS if _count(first, last, i) <= MAX_BUCKETS), "year")


def timeline(
    matches: Mapping[dt.date, int],
    articles: Mapping[dt.date, int],
    interval: Interval | Literal["auto"] = "auto",
    span: tuple[dt.date, dt.date] | None = None,
) -> tuple[Interval, list[Bucket]]:
    """(the interval used, every bucket of the span), from per-day counts of the matches and of
    the archive under the same filters; the span is that of the days given unless ``span``."""
    days = [*matches, *articles]
    if span is None and not days:
        return ("day" if interval == "auto" else interval), []
    first, last = span or (min(days), max(days))
    chosen: Interval = auto_interval(first, last) if interval == "auto" else interval
    sums: dict[dt.date, list[int]] = {}
    for i, counts in enumerate((matches, articles)):
        for day, n in counts.items():
            sums.setdefault(start_of(day, chosen), [0, 0])[i] += n
    buckets: list[Bucket] = []
    start: dt.date | None = start_of(first, chosen)
    while start is not None and start <= last:
        after = _next(start, chosen)
        m, a = sums.get(start, (0, 0))
        buckets.append(Bucket(start, after - dt.timedelta(days=1) if after else dt.date.max, m, a))
        start = after
    return chosen, buckets
