"""Attention over time: the buckets themselves (pure), then the timeline of a result set and
the command line's ``--timeline`` on the embedded store (both backends in test_result_sets)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

from archive.export import timeline_csv
from archive.timeline import Bucket, auto_interval, start_of, timeline

from .conftest import run_cli

D = dt.date


def test_every_bucket_of_the_span_is_listed_with_its_share() -> None:
    interval, buckets = timeline(
        {D(2020, 1, 6): 2, D(2020, 1, 20): 1}, {D(2020, 1, 1): 5, D(2020, 1, 6): 4, D(2020, 1, 20): 1}, "week"
    )
    assert interval == "week"
    assert [(b.start, b.end, b.matches, b.articles) for b in buckets] == [
        (D(2019, 12, 30), D(2020, 1, 5), 0, 5),  # ISO weeks begin on Monday
        (D(2020, 1, 6), D(2020, 1, 12), 2, 4),
        (D(2020, 1, 13), D(2020, 1, 19), 0, 0),  # a gap in coverage is listed, not skipped
        (D(2020, 1, 20), D(2020, 1, 26), 1, 1),
    ]
    assert [b.share for b in buckets] == [0.0, 0.5, 0.0, 1.0]
    _, months = timeline({D(2019, 12, 31): 1}, {D(2019, 11, 2): 1, D(2020, 2, 1): 3}, "month")
    assert [(b.start, b.end) for b in months] == [
        (D(2019, 11, 1), D(2019, 11, 30)),
        (D(2019, 12, 1), D(2019, 12, 31)),
        (D(2020, 1, 1), D(2020, 1, 31)),
        (D(2020, 2, 1), D(2020, 2, 29)),
    ]
    assert [b.matches for b in months] == [0, 1, 0, 0]
    _, years = timeline({}, {D(9999, 12, 31): 1, D(9998, 1, 1): 1}, "year")  # the calendar's end is no crash
    assert years[-1] == Bucket(D(9999, 1, 1), D.max, 0, 1)
    assert timeline({}, {}) == ("day", [])
    _, spanned = timeline({D(2020, 1, 2): 1}, {D(2020, 1, 2): 1}, "day", span=(D(2020, 1, 1), D(2020, 1, 3)))
    assert [b.matches for b in spanned] == [0, 1, 0]


def test_auto_interval_is_the_finest_that_fits() -> None:
    assert auto_interval(D(2020, 1, 1), D(2020, 7, 1)) == "day"  # 183 days
    assert auto_interval(D(2020, 1, 1), D(2022, 1, 1)) == "week"
    assert auto_interval(D(2000, 1, 1), D(2015, 1, 1)) == "month"
    assert auto_interval(D(1900, 1, 1), D(2020, 1, 1)) == "year"
    assert start_of(D(2020, 5, 17), "month") == D(2020, 5, 1) and start_of(D(2020, 5, 17), "year") == D(2020, 1, 1)


def test_timeline_csv_is_formula_safe_and_names_its_series() -> None:
    rows = list(
        csv.reader(
            io.StringIO(
                timeline_csv(
                    [Bucket(D(2020, 1, 1), D(2020, 1, 31), 2, 4)],
                    {"=cmd|' /C calc'!A0": [Bucket(D(2020, 1, 1), D(2020, 1, 31), 1, 1)]},
                ).decode("utf-8-sig")
            )
        )
    )
    assert rows == [
        ["series", "source", "start", "end", "matches", "articles", "share"],
        ["all", "", "2020-01-01", "2020-01-31", "2", "4", "0.500000"],
        ["source", "'=cmd|' /C calc'!A0", "2020-01-01", "2020-01-31", "1", "1", "1.000000"],
    ]


def test_search_timeline_on_the_command_line(seed_store_dir: Path, tmp_path: Path) -> None:
    """The seeds: every match counted once, in buckets that cover the archive's span, with
    the share of all articles; the CSV holds the same numbers."""
    res = run_cli(
        "search",
        "الجيش",
        "--mode",
        "keyword",
        "--json",
        "--timeline",
        "month",
        "--by-source",
        "--timeline-csv",
        str(tmp_path / "t.csv"),
        data_dir=seed_store_dir,
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    line = out["timeline"]
    assert line["interval"] == "month" and sum(b["matches"] for b in line["buckets"]) + line["undated"] == out["total"] > 0
    assert 0 < line["undated"] < out["total"]  # the seeds: most have no date the ingest could read
    status = json.loads(run_cli("status", "--json", data_dir=seed_store_dir).stdout)
    assert sum(b["articles"] for b in line["buckets"]) == sum(status["years"].values())  # every dated article
    assert all(0 <= b["matches"] <= b["articles"] for b in line["buckets"])
    assert set(line["by_source"]) == set(out["sources"])
    for source, buckets in line["by_source"].items():
        assert sum(b["matches"] for b in buckets) <= out["sources"][source]
        assert [b["start"] for b in buckets] == [b["start"] for b in line["buckets"]]  # bucket for bucket
    rows = list(csv.DictReader(io.StringIO((tmp_path / "t.csv").read_text(encoding="utf-8-sig"))))
    assert sum(int(r["matches"]) for r in rows if r["series"] == "all") == out["total"] - line["undated"]
    text = run_cli("search", "الجيش", "--mode", "keyword", "--timeline", data_dir=seed_store_dir)
    assert text.returncode == 0 and "timeline by " in text.stdout and "#" in text.stdout and "undated matches" in text.stdout


def test_the_timeline_in_stories_on_the_command_line(seed_store_dir: Path) -> None:
    """The seeds are five different stories: counted in stories, the series is the articles'."""
    args = ("search", "الجيش", "--mode", "keyword", "--json", "--timeline", "year")
    articles = json.loads(run_cli(*args, data_dir=seed_store_dir).stdout)["timeline"]
    res = run_cli(*args, "--stories", data_dir=seed_store_dir)
    assert res.returncode == 0, res.stderr
    stories = json.loads(res.stdout)["timeline"]
    assert (stories["unit"], articles["unit"]) == ("stories", "articles")
    assert stories["counted"] == articles["counted"] == json.loads(res.stdout)["total"]
    assert stories["buckets"] == articles["buckets"] and stories["undated"] == articles["undated"]
