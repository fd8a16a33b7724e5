"""Result sets and timelines as CSV or JSONL, safe to open in a spreadsheet: a cell that starts
with = + - @ (or a tab / carriage return) is prefixed with ' so it is never run as a formula.
One module for the app's downloads and the command line's files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TextIO

from archive.marks import to_plain
from archive.search import Hit
from archive.timeline import Bucket

FIELDS = (
    "rank",
    "id",
    "title",
    "source",
    "published_at",
    "url",
    "path",
    "story",
    "match",
    "keyword_rank",
    "semantic_rank",
    "fused_score",
    "semantic_score",
    "snippet",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def file_name(query: str, day: dt.date) -> str:
    """An export's file name (without extension) after its query and the day: letters and digits
    of any script kept, everything else a dash (``الجيش-السوري_2026-12-02``)."""
    words = "-".join(re.findall(r"[^\W_]+", query))[:60].strip("-")
    return f"{words or 'results'}_{day.isoformat()}"


def rows(hits: Sequence[Hit], first_rank: int = 1) -> list[dict]:
    """One plain record per hit (snippet without markup)."""
    return [
        {
            "rank": i,
            "id": h.article.id,
            "title": h.article.title,
            "source": h.article.source,
            "published_at": h.article.published_at.isoformat() if h.article.published_at else "",
            "url": h.article.url,
            "path": h.article.path,
            "story": h.article.story_id,
            "match": h.match or "filter",
            "keyword_rank": h.keyword_rank,
            "semantic_rank": h.semantic_rank,
            "fused_score": h.fused_score,
            "semantic_score": h.semantic_score,
            "snippet": to_plain(h.snippet_html),
        }
        for i, h in enumerate(hits, first_rank)
    ]


def safe_cell(value: object) -> str:
    """A CSV cell that spreadsheets show as text, never evaluate."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def pieces(hits: Iterable[Hit], fmt: str) -> Iterator[str]:
    """Hits as CSV (a BOM and the header first, so spreadsheet programs read the Arabic right)
    or JSONL (one object per line, values as they are: JSON has no formulas), one row per piece
    as the hits arrive (a file, or an HTTP response, grows while the archive is read)."""
    buf = io.StringIO()
    writer = None
    if fmt == "csv":
        writer = csv.DictWriter(buf, fieldnames=FIELDS)
        writer.writeheader()
        yield "\ufeff" + _taken(buf)
    for n, hit in enumerate(hits, 1):
        row = rows([hit], n)[0]
        if writer is not None:
            writer.writerow({k: safe_cell(v) for k, v in row.items()})
            yield _taken(buf)
        else:
            yield json.dumps(row, ensure_ascii=False) + "\n"


def _taken(buf: io.StringIO) -> str:
    text = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    return text


def write(hits: Iterable[Hit], out: TextIO, fmt: str) -> int:
    """Stream hits to ``out`` (``pieces``); the number written."""
    n = -1 if fmt == "csv" else 0  # the CSV header is a piece of its own
    for piece in pieces(hits, fmt):
        out.write(piece)
        n += 1
    return n


def to_csv(hits: Iterable[Hit]) -> bytes:
    buf = io.StringIO()
    write(hits, buf, "csv")
    return buf.getvalue().encode("utf-8")


def to_jsonl(hits: Iterable[Hit]) -> bytes:
    buf = io.StringIO()
    write(hits, buf, "jsonl")
    return buf.getvalue().encode("utf-8")


def timeline_csv(overall: Sequence[Bucket], by_source: dict[str, list[Bucket]]) -> bytes:
    """A timeline as one CSV (UTF-8 with a BOM): a row per bucket of every match (``series``
    "all"), then of each source (``series`` "source")."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["series", "source", "start", "end", "matches", "articles", "share"])
    for series, source, buckets in [("all", "", overall), *(("source", s, b) for s, b in by_source.items())]:
        for b in buckets:
            writer.writerow(
                [series, safe_cell(source), b.start.isoformat(), b.end.isoformat(), b.matches, b.articles, f"{b.share:.6f}"]
            )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
