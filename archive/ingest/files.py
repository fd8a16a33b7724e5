"""Sources to articles: discovering the files under a directory, reading each (.txt, .html,
JSONL, CSV) into ``Article`` objects, ids that stay the same from any machine.

Bad input never stops a run: every problem becomes a ``Rejected`` naming the file (and line or
row), and the caller goes on with the rest. What was read but deserves a word (a legacy
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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from archive.ingest.dates import parse_when
from archive.ingest.decoding import decode
from archive.ingest.pages import parse_html
from archive.ingest.text import parse_text
from archive.model import SUFFIXES, Article

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ARTICLE_CHARS = 1_000_000  # ~170k Arabic words, ~900 passages: longer is not one news article
FUTURE_SLACK = dt.timedelta(days=1)  # time zones: "tomorrow" somewhere is today here


@dataclass(frozen=True)
class _Located:
    where: str  # ``path`` or ``path:line``
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class Rejected(_Located):
    """An input (a file, or one line/row of it) that was not indexed, and why: a record for the
    job's report, not an exception (reading goes on with the rest)."""


class Notice(_Located):
    """Something worth saying about input that was read fine (e.g. the encoding it was in)."""


def stable_id(kind: str, key: str) -> str:
    """A short id that stays the same for the same url or relative path."""
    return f"{kind}-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _clean(value: object) -> str:
    return "" if value is None else str(value).strip()


def checked(article: Article, where: str) -> Iterator[Article | Rejected | Notice]:
    """The article, or an error when it is too long. A date in the future is a typo more often
    than not (2035 for 2015): the article is kept without a date, and a notice says so."""
    size = len(article.title) + len(article.body)
    if size > MAX_ARTICLE_CHARS:
        yield Rejected(
            where,
            f"article is {size / 1e6:.1f} M characters, over the {MAX_ARTICLE_CHARS // 1_000_000} M "
            "limit for one article: split it",
        )
        return
    if article.published_at and article.published_at > dt.datetime.now() + FUTURE_SLACK:
        yield Notice(where, f"publication date {article.published_at:%Y-%m-%d} is in the future: indexed without a date")
        article = Article.make(article.id, article.title, article.body, None, article.source, article.url, article.path)
    yield article


def _record(rec: dict, where: str, rel: str, line: int, publisher: str = "") -> Iterator[Article | Rejected | Notice]:
    """One JSONL/CSV record; ``body`` is required, the rest optional (``source`` defaults to
    ``publisher``). Without an id or url, the id comes from the file's stored path and the line
    number."""
    body = _clean(rec.get("body"))
    if not body:
        yield Rejected(where, "missing field 'body'")
        return
    url = _clean(rec.get("url"))
    given = _clean(rec.get("id"))
    art_id = given if given else stable_id("u", url) if url else stable_id("p", f"{rel}:{line}")
    raw_date = _clean(rec.get("published_at"))
    published = parse_when(raw_date)
    if raw_date and published is None:
        yield Rejected(where, f"field 'published_at' is not a date: {raw_date!r}")
        return
    yield from checked(
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


def _first_time(item: Article | Rejected | Notice, first: dict[str, int], where: str, line: int) -> Article | Rejected | Notice:
    """``item``, or an error naming both lines when its id came earlier in the same file (the
    first one wins, as across files)."""
    if isinstance(item, Article):
        if item.id in first:
            return Rejected(f"{where}:{line}", f"duplicate article id {item.id!r} (first at line {first[item.id]}); skipped")
        first[item.id] = line
    return item


def stored_path(path: Path, root: Path | None = None, prefix: str = "") -> str:
    """The path an article of ``path`` is stored under: relative to its source directory ``root``
    and led by the source's name, so it is the same from any working directory or machine."""
    rel = path.relative_to(root).as_posix() if root and path != root else path.name
    return f"{prefix}/{rel}" if prefix else rel


def read_file(
    path: Path, root: Path | None = None, prefix: str = "", publisher: str = ""
) -> Iterator[Article | Rejected | Notice]:
    """Articles (or errors) of one file, stored under ``stored_path(path, root, prefix)``;
    ``publisher``: the source of articles that name none themselves."""
    rel = stored_path(path, root, prefix)
    where = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            yield Rejected(where, f"file is {size / 1e6:.0f} MB, over the {MAX_FILE_BYTES // 2**20} MiB limit")
            return
        text, encoding = decode(path.read_bytes())
    except OSError as exc:
        yield Rejected(where, f"cannot read: {exc.strerror or exc}")
        return
    except ValueError as exc:
        yield Rejected(where, f"cannot read: {exc}")
        return
    if "\x00" in text:
        yield Rejected(where, "contains NUL bytes: not a text file")
        return
    if encoding not in ("utf-8", "utf-8-sig"):
        yield Notice(where, f"decoded as {encoding}")
    suffix = path.suffix.lower()
    if suffix in (".txt", ".html", ".htm"):
        limit = MAX_ARTICLE_CHARS * (4 if suffix != ".txt" else 1) + 10_000  # markup is not text
        if len(text) > limit:
            yield Rejected(
                where,
                f"{len(text) / 1e6:.1f} M characters, over the {MAX_ARTICLE_CHARS // 1_000_000} M "
                "limit for one article: split it",
            )
            return
        title, body, published, source, notes = (parse_text if suffix == ".txt" else parse_html)(text, publisher)
        if not any(ch.isalnum() for ch in title + body):
            yield Rejected(where, "empty article (no text)")
            return
        yield from (Notice(where, n) for n in notes)
        yield from checked(Article.make(stable_id("p", rel), title, body or title, published, source, "", rel), where)
    elif suffix == ".jsonl":
        first: dict[str, int] = {}
        for no, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Rejected(f"{where}:{no}", f"invalid JSON: {exc.msg}")
                continue
            if not isinstance(rec, dict):
                yield Rejected(f"{where}:{no}", "a line must be a JSON object")
                continue
            yield from (_first_time(item, first, where, no) for item in _record(rec, f"{where}:{no}", rel, no, publisher))
    elif suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "body" not in [f.strip() for f in reader.fieldnames]:
            yield Rejected(where, f"CSV has no 'body' column (columns: {reader.fieldnames})")
            return
        first = {}
        for no, row in enumerate(reader, 2):
            rec = {(k or "").strip(): v for k, v in row.items()}
            yield from (_first_time(item, first, where, no) for item in _record(rec, f"{where}:{no}", rel, no, publisher))
    else:
        yield Rejected(where, f"unsupported file type {suffix!r} (expected {', '.join(SUFFIXES)})")


def _selected(rel: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Glob filters on the path relative to the source directory (``*`` also crosses ``/``)."""
    if include and not any(fnmatch.fnmatchcase(rel, g) for g in include):
        return False
    return not any(fnmatch.fnmatchcase(rel, g) for g in exclude)


def _drain(problems: list[OSError], root: Path) -> Iterator[Rejected]:
    """Walk errors as ingest errors: an unreadable directory is reported, never a silent gap."""
    while problems:
        err = problems.pop(0)
        yield Rejected(str(err.filename or root), f"cannot read directory: {err.strerror or err}")


def discover(
    paths: Iterable[Path], include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> Iterator[tuple[Path, Path | None] | Rejected]:
    """(file, root) for every supported file under ``paths`` whose path relative to its directory
    passes the ``include``/``exclude`` globs; sorted, symlink loops skipped."""
    for p in paths:
        if not p.exists():
            yield Rejected(str(p), "no such file or directory")
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
                    yield Rejected(dirpath, "symbolic link loop (this directory was already read): skipped")
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


def iter_articles(paths: Iterable[Path], publisher: str = "") -> Iterator[Article | Rejected | Notice]:
    """Every article under ``paths`` (files or directories), with an error for each bad input.
    Articles are stored under their directory's name (``seeds/000_….txt``), whether the
    directory or the file was given."""
    for item in discover(paths):
        if isinstance(item, Rejected):
            yield item
        else:
            f, root = item
            yield from read_file(f, root, (root or f.parent).resolve().name, publisher)
