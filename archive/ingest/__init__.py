"""Reading sources into ``Article`` objects (see ``files``), in parts: ``dates`` (Arabic and
Hijri dates), ``text`` (plain-text articles), ``pages`` (saved HTML), ``decoding`` (bytes to
text) and ``passages`` (what is embedded)."""

from archive.ingest.dates import DateRead, impossible_date, parse_arabic_date, parse_when, read_date
from archive.ingest.decoding import decode
from archive.ingest.feeds import Fetcher, FetchError, read_feed
from archive.ingest.files import (
    MAX_ARTICLE_CHARS,
    MAX_FILE_BYTES,
    Notice,
    Rejected,
    discover,
    iter_articles,
    read_file,
    stable_id,
    stored_path,
)
from archive.ingest.pages import parse_html
from archive.ingest.passages import PASSAGE_OVERLAP, PASSAGE_WORDS, passages
from archive.ingest.text import Parsed, parse_text

__all__ = [
    "MAX_ARTICLE_CHARS",
    "DateRead",
    "FetchError",
    "Fetcher",
    "MAX_FILE_BYTES",
    "PASSAGE_OVERLAP",
    "PASSAGE_WORDS",
    "Notice",
    "Parsed",
    "Rejected",
    "decode",
    "discover",
    "impossible_date",
    "iter_articles",
    "parse_arabic_date",
    "parse_html",
    "parse_text",
    "parse_when",
    "passages",
    "read_date",
    "read_feed",
    "read_file",
    "stable_id",
    "stored_path",
]
