"""The Streamlit app's state logic with AppTest (permalinks, filters, pages, article and status
views, error states) and its export; the real-browser test is in test_e2e.py."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from archive.embeddings import Embedder
from archive.jobs import JobRunner, config_from_paths
from archive.search import SearchService
from archive.store import open_store
from search_ui.export import safe_cell, to_csv, to_jsonl
from search_ui.state import ViewState

from .conftest import ROOT, SEEDS


@pytest.fixture(scope="module")
def app_data(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, embedder: Embedder) -> Path:
    """seeds/ plus 22 generated articles (three pages of 'خبر' results), indexed by a job."""
    d = tmp_path_factory.mktemp("appdata")
    (d / "models").symlink_to(data_dir / "models", target_is_directory=True)
    feed_dir = d / "wire"
    feed_dir.mkdir()
    lines = [json.dumps({"id": f"w{i:02d}", "title": f"خبر عاجل رقم {i}", "body": f"خبر عاجل عن الميناء والمطار رقم {i}",
                         "source": "وكالة" if i % 2 else "=HYPERLINK(\"http://evil\")",
                         "published_at": f"2020-01-{i + 1:02d}"}, ensure_ascii=False) for i in range(22)]
    (feed_dir / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rec = JobRunner(open_store(d, backend="lancedb"), embedder).run(config_from_paths([SEEDS, feed_dir]))
    assert rec.status == "ok" and rec.added == 27
    return d


def app(data: Path, monkeypatch: pytest.MonkeyPatch, **params: str | list[str]) -> AppTest:
    monkeypatch.setenv("ARCHIVE_DATA_DIR", str(data))
    at = AppTest.from_file(str(ROOT / "search_ui" / "app.py"), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def url(at: AppTest) -> dict[str, list[str]]:
    """The app's query parameters, every value as a list."""
    return {k: list(v) if isinstance(v, list) else [v] for k, v in at.query_params.items()}


def page_html(at: AppTest) -> str:
    return "".join(m.value for m in at.markdown)


def test_a_permalink_restores_the_whole_view(app_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app(app_data, monkeypatch, q="خبر عاجل", mode="keyword", sort="newest", page="2", **{"from": "2020-01-05"})
    assert at.text_input(key="q").value == "خبر عاجل" and at.radio(key="mode").value == "keyword"
    assert at.radio(key="sort").value == "newest" and at.date_input(key="date_from").value == dt.date(2020, 1, 5)
    caption = " ".join(c.value for c in at.caption)
    assert "18 نتيجة" in caption and "صفحة 2 من 2" in caption  # w04..w21
    html = page_html(at)
    assert 'target="_self">11. ' in html and 'target="_self">1. ' not in html  # the second page
    assert html.index("رقم 7<") < html.index("رقم 6<")  # newest first: w07 (Jan 8) before w06
    # the URL is rewritten from the widgets: the same state, defaults left out
    assert url(at) == {
        "q": ["خبر عاجل"], "mode": ["keyword"], "from": ["2020-01-05"], "sort": ["newest"], "page": ["2"]}


def test_changing_the_query_goes_back_to_page_one_and_paging_works(app_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app(app_data, monkeypatch, q="خبر عاجل", mode="keyword")
    assert "صفحة 1 من 3" in " ".join(c.value for c in at.caption)
    at.button(key="next").click().run()
    assert url(at)["page"] == ["2"] and "11. " in page_html(at)
    at.button(key="next").click().run()
    assert url(at)["page"] == ["3"] and at.button(key="next").disabled
    at.text_input(key="q").input("الميناء").run()
    assert "page" not in url(at) and "1. " in page_html(at)
    past = app(app_data, monkeypatch, q="خبر عاجل", mode="keyword", page="40")  # a link past the last page
    assert url(past)["page"] == ["3"] and 'target="_self">21. ' in page_html(past)


def test_a_weighed_down_keyword_channel_is_said(app_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app(app_data, monkeypatch, q="Iran Russia joint military headquarters Syria 2231")  # only 2231 is indexed
    caption = " ".join(c.value for c in at.caption)
    assert "keyword weight 0.07 of 0.50" in caption  # 1 of 7 words
    arabic = app(app_data, monkeypatch, q="الجيش السوري")
    assert "keyword weight" not in " ".join(c.value for c in arabic.caption)


def test_filters_and_facets(app_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app(app_data, monkeypatch, q="خبر عاجل", mode="keyword")
    assert "<bdi>وكالة</bdi> (11)" in page_html(at) and "<bdi>=HYPERLINK(&quot;http://evil&quot;)</bdi> (11)" in page_html(at)
    at.multiselect(key="sources").select("وكالة").run()
    assert url(at)["source"] == ["وكالة"]
    assert "11 نتيجة" in " ".join(c.value for c in at.caption)
    at.date_input(key="date_to").set_value(dt.date(2020, 1, 4)).run()
    assert "2 نتيجة" in " ".join(c.value for c in at.caption)  # w01 and w03


def test_the_calendars_last_day_and_a_far_page_are_no_traceback(app_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``to:9999-12-31`` in the query or the URL overflowed the day-after bound (issue 21.3)."""
    for params in ({"q": "خبر عاجل to:9999-12-31"}, {"q": "خبر عاجل", "to": "9999-12-31"}):
        at = app(app_data, monkeypatch, mode="keyword", **params)  # app() fails on any exception
        assert "22 نتيجة" in " ".join(c.value for c in at.caption) and not at.error
    at = app(app_data, monkeypatch, q="خبر عاجل", mode="keyword", page="1000000000")
    assert not at.error


def test_article_view_marks_the_query_and_lists_similar_articles(app_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    target = SearchService(open_store(app_data, read_only=True, backend="lancedb"), Embedder).search(
        "همدان", mode="keyword").hits[0].article
    at = app(app_data, monkeypatch, article=target.id, q="همدان")
    html = page_html(at)
    assert 'class="article"' in html and "<mark>همدان</mark>" in html
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert "article=" not in hrefs[0] and "q=" in hrefs[0]  # back to the results of the same query
    similar = [h for h in hrefs if "article=" in h]
    assert len(similar) == 5 and not any(target.id in h for h in similar)
    missing = app(app_data, monkeypatch, article="no-such-id")
    assert any("No article with id 'no-such-id'" in w.value.replace("\\", "") for w in missing.warning)  # md-escaped


def test_status_page_shows_counts_generations_and_the_last_job(app_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app(app_data, monkeypatch, view="status")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["المقالات · Articles"] == "27" and metrics["الخلفية · Backend"] == "lancedb"
    assert any("incremental · ok" in s.value and "+27" in s.value for s in at.success)
    assert len(at.dataframe) == 3


def test_bad_links_and_broken_backends_are_messages(app_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app(app_data, monkeypatch, q="خبر", mode="bogus", page="x", w="heavy", **{"from": "yesterday"})
    notes = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "mode 'bogus' is not a mode" in notes and "page 'x'" in notes and "w 'heavy'" in notes and "from 'yesterday'" in notes
    assert at.radio(key="mode").value == "hybrid"
    none = app(app_data, monkeypatch, q="كلمةلاتوجدابدا", mode="keyword")
    assert any("No results" in i.value for i in none.info)
    monkeypatch.setenv("ARCHIVE_BACKEND", "elasticsearch")
    monkeypatch.setenv("ES_URL", "http://127.0.0.1:9")  # nothing listens there
    down = app(tmp_path, monkeypatch, q="روسيا")
    assert any("cannot reach Elasticsearch" in e.value.replace("\\", "") for e in down.error)


@given(st.builds(ViewState, q=st.text(max_size=50), mode=st.sampled_from(["hybrid", "keyword", "semantic"]),
                 weight=st.sampled_from([0.0, 0.3, 0.5, 1.0]), sources=st.lists(st.text(min_size=1, max_size=8).map(str.strip).filter(bool), max_size=3, unique=True).map(tuple),
                 date_from=st.none() | st.dates(), date_to=st.none() | st.dates(), sort=st.sampled_from(["relevance", "newest"]),
                 page=st.integers(1, 1000), article=st.just(""), view=st.just("search")))
def test_view_state_survives_the_url(state: ViewState) -> None:
    from urllib.parse import parse_qs, urlsplit

    params = parse_qs(urlsplit(state.href()).query, keep_blank_values=True)
    back = ViewState.from_params(params)
    assert back.notes == () and back == state


def test_export_is_safe_in_spreadsheets(service: SearchService) -> None:
    hits = service.search("روسيا", page_size=5).hits
    assert safe_cell("=SUM(A1)") == "'=SUM(A1)" and safe_cell("+1") == "'+1" and safe_cell("@x") == "'@x"
    assert safe_cell("-2") == "'-2" and safe_cell("روسيا") == "روسيا"
    data = to_csv(hits)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == [h.article.id for h in hits] and "<mark>" not in rows[0]["snippet"]
    assert all(not r[k].startswith(("=", "+", "-", "@")) for r in rows for k in r)
    lines = to_jsonl(hits).decode().splitlines()
    assert [json.loads(x)["rank"] for x in lines] == list(range(1, len(hits) + 1))
