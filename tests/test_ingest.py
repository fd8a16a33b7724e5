"""Ingestion: metadata from plain-text news, JSONL/CSV, bad input, passages."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from archive.ingest import Notice, Rejected, iter_articles, parse_arabic_date, parse_text, passages
from archive.model import Article

from .conftest import SEEDS, record_reliability


def by_name() -> dict[str, Article]:
    return {a.path.split("/")[-1][:3]: a for a in iter_articles([SEEDS]) if isinstance(a, Article)}


def test_seed_metadata() -> None:
    seeds = by_name()
    assert set(seeds) == {"000", "001", "002", "003", "004"}
    a = seeds["004"]
    assert a.title == "الجيش السوري يتقدم بغطاء روسي.. والتحالف الدولي يُصعِد من غاراته"
    assert a.published_at == dt.datetime(2015, 12, 21, 22, 38)
    assert "طباعة" not in a.body and not a.body.rstrip().endswith("شارك")
    assert a.body.count("الجيش السوري يتقدم\n") <= 1  # repeated sub-heading kept once
    b = seeds["001"]
    assert b.source == "العربية" and not b.body.rstrip().endswith("العربية")
    c = seeds["000"]
    assert c.title.endswith("…") and len(c.title.split()) <= 21  # a lead paragraph, not a headline
    assert c.body.startswith("التنسيق العسكري الروسي")  # the lead stays in the body


def test_ids_and_hashes_are_stable_and_content_sensitive(corpus: Path) -> None:
    first = {a.id: a.content_hash for a in iter_articles([corpus]) if isinstance(a, Article)}
    again = {a.id: a.content_hash for a in iter_articles([corpus]) if isinstance(a, Article)}
    assert first == again and len(first) == 5
    f = next(corpus.glob("003_*.txt"))
    f.write_text(f.read_text(encoding="utf-8") + "\nسطر جديد.", encoding="utf-8")
    changed = {a.id: a.content_hash for a in iter_articles([corpus]) if isinstance(a, Article)}
    assert set(changed) == set(first)
    assert sum(first[i] != changed[i] for i in first) == 1


@pytest.mark.parametrize(
    "text,expected",
    [
        ("الإثنين 21/ديسمبر/2015 - 10:38 م", dt.datetime(2015, 12, 21, 22, 38)),
        ("٥ آذار ٢٠١٦", dt.datetime(2016, 3, 5)),
        ("السبت 3 تشرين الأول 2015 الساعة 09:15 ص", dt.datetime(2015, 10, 3, 9, 15)),
        ("12 كانون الثاني 2017", dt.datetime(2017, 1, 12)),
        ("7 يونيه 2014", dt.datetime(2014, 6, 7)),
        ("1 جويلية 2019", dt.datetime(2019, 7, 1)),
        ("21/12/2015", dt.datetime(2015, 12, 21)),
        ("2016-08-17T10:00", dt.datetime(2016, 8, 17, 10, 0)),
        ("31/02/2015", None),
        ("في العام 2014", None),
    ],
)
def test_arabic_dates(text: str, expected: dt.datetime | None) -> None:
    assert parse_arabic_date(text) == expected


def test_jsonl_csv_and_bad_input(tmp_path: Path) -> None:
    good = {
        "id": "a1",
        "title": "عنوان",
        "body": "نص الخبر",
        "published_at": "2016-05-01",
        "source": "رويترز",
        "url": "http://x/1",
    }
    (tmp_path / "feed.jsonl").write_text(
        json.dumps(good, ensure_ascii=False)
        + "\n{broken\n"
        + json.dumps({"title": "no body"})
        + "\n"
        + json.dumps({"body": "x", "published_at": "yesterday"})
        + "\n",
        encoding="utf-8",
    )
    (tmp_path / "rows.csv").write_text("id,title,body,published_at,source,url\nc1,عنوان,نص,2015-01-02,سانا,\n", encoding="utf-8")
    (tmp_path / "nocol.csv").write_text("title,text\nx,y\n", encoding="utf-8")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02\x03")
    (tmp_path / "empty.txt").write_text("   \n\n", encoding="utf-8")
    (tmp_path / "legacy.txt").write_bytes("عنوان قديم\nنص بترميز ويندوز".encode("cp1256"))
    (tmp_path / "notes.md").write_text("ignored: not a supported type")
    items = list(iter_articles([tmp_path, tmp_path / "missing"]))
    arts = {a.id: a for a in items if isinstance(a, Article)}
    errs = sorted(str(e) for e in items if isinstance(e, Rejected))
    assert {"a1", "c1"} <= set(arts) and len(arts) == 3
    assert arts["a1"].source == "رويترز" and arts["a1"].published_at == dt.datetime(2016, 5, 1)
    assert arts["c1"].source == "سانا"
    legacy = [a for a in arts.values() if a.path == f"{tmp_path.name}/legacy.txt"][0]
    assert legacy.title == "عنوان قديم"
    assert len(errs) == 7
    joined = "\n".join(errs)
    for needle in (
        "feed.jsonl:2: invalid JSON",
        "feed.jsonl:3: missing field 'body'",
        "feed.jsonl:4: field 'published_at'",
        "nocol.csv: CSV has no 'body' column",
        "bin.txt",
        "empty.txt: empty article",
        "missing: no such file",
    ):
        assert needle in joined


def test_passages_cover_the_body_with_overlap() -> None:
    a = by_name()["002"]
    ps = passages(a)
    assert len(ps) >= 3
    assert ps[0].start == 0 and ps[-1].end == len(a.body.rstrip())
    for p, q in zip(ps, ps[1:], strict=False):
        assert q.start < p.end  # overlap
        assert a.body[p.start : p.end] == p.text
    assert all(len(p.text.split()) <= 200 for p in ps)


@pytest.mark.parametrize(
    "last,source",
    [
        ("هسبريس", "هسبريس"),
        ("الشروق", "الشروق"),
        ("الرياض", "الرياض"),
        ("اليوم السابع", "اليوم السابع"),
        ("السومرية", "السومرية"),
        ("الوكالة الوطنية للإعلام", "الوكالة الوطنية للإعلام"),
        ("رويترز", "رويترز"),
        ("المصدر: موقع المدن", "موقع المدن"),
        # sentences, closers and places stay in the text
        ("وتستمر المعارك", ""),
        ("انتهى", ""),
        ("في حلب", ""),
        ("قتل 5 أشخاص", ""),
        ("هذا ما حدث.", ""),
    ],
)
def test_a_trailing_name_line_is_the_source(last: str, source: str) -> None:
    parsed = parse_text(f"عنوان الخبر\n\nنص الخبر عن حلب وما جرى فيها أمس.\n\n{last}\n")
    assert parsed.source == source
    assert parsed.body.endswith(last) == (source == "")


def test_a_publisher_names_the_rest_and_is_not_guessed_over() -> None:
    text = "عنوان الخبر\n\nنص الخبر عن حلب.\n\nسطر أخير\n"
    assert parse_text(text).source == "سطر أخير"
    given = parse_text(text, publisher="هسبريس")
    assert given.source == "هسبريس" and given.body.endswith("سطر أخير")
    assert parse_text(text.replace("سطر أخير", "هسبريس"), publisher="هسبريس").body == "نص الخبر عن حلب."


def test_dates_a_newcomer_gets_wrong_are_said(tmp_path: Path) -> None:
    (tmp_path / "future.txt").write_text("عنوان\n21/12/2035\n\nنص الخبر.", encoding="utf-8")
    (tmp_path / "feb30.txt").write_text("عنوان\nالثلاثاء 30/فبراير/2016\n\nنص الخبر.", encoding="utf-8")
    (tmp_path / "feed.jsonl").write_text(
        json.dumps({"id": "f", "body": "نص", "published_at": "2035-01-01"})
        + "\n"
        + json.dumps({"id": "n", "body": "نص", "published_at": "-0001-11-30"})
        + "\n",
        encoding="utf-8",
    )
    items = list(iter_articles([tmp_path]))
    arts = {a.path.split("/")[-1] if a.path.endswith(".txt") else a.id: a for a in items if isinstance(a, Article)}
    notes = [str(n) for n in items if isinstance(n, Notice)]
    errors = [str(e) for e in items if isinstance(e, Rejected)]
    assert set(arts) == {"future.txt", "feb30.txt", "f"} and all(a.published_at is None for a in arts.values())
    assert sum("is in the future: indexed without a date" in n for n in notes) == 2
    assert any("feb30.txt: header date" in n and "no day of the calendar" in n for n in notes)
    assert errors == [f"{tmp_path / 'feed.jsonl'}:2: field 'published_at' is not a date: '-0001-11-30'"]
    assert parse_arabic_date("-0001-11-30") is None and parse_arabic_date("نشر في 2015-12-21") == dt.datetime(2015, 12, 21)


def test_a_repeated_id_in_one_file_names_both_lines(tmp_path: Path) -> None:
    """The second record with an id already seen in the same JSONL/CSV file is refused with both
    line numbers (the message named the file only, so the user had to search for them)."""
    rec = lambda i, body: json.dumps({"id": i, "body": body}, ensure_ascii=False)  # noqa: E731
    (tmp_path / "feed.jsonl").write_text(
        "\n".join([rec("a", "أول"), rec("b", "ثان"), "", rec("a", "مكرر")]) + "\n", encoding="utf-8"
    )
    (tmp_path / "rows.csv").write_text("id,body\nc,أول\nc,مكرر\n", encoding="utf-8")
    items = list(iter_articles([tmp_path]))
    assert sorted(a.body for a in items if isinstance(a, Article)) == sorted(["أول", "ثان", "أول"])  # the first wins
    errs = sorted(str(e) for e in items if isinstance(e, Rejected))
    assert errs == [
        f"{tmp_path / 'feed.jsonl'}:4: duplicate article id 'a' (first at line 1); skipped",
        f"{tmp_path / 'rows.csv'}:3: duplicate article id 'c' (first at line 2); skipped",
    ]
    record_reliability(
        "repeated id in one file",
        "the same id twice in one JSONL and in one CSV",
        "each refused with both line numbers; the first kept",
    )
