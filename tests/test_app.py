"""The Streamlit app's state logic with AppTest (permalinks, filters, pages, article and status
views, error states) and its export; the real-browser test is in test_e2e.py."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from archive.embeddings import Embedder
from archive.export import file_name, safe_cell, to_csv, to_jsonl
from archive.jobs import JobRunner, config_from_paths
from archive.model import Article
from archive.search import SearchService
from archive.store import open_store
from search_ui.overview import overview
from search_ui.state import ViewState, bucket_dates

from .conftest import SEEDS, model_loading, open_app


@pytest.fixture(scope="module")
def app_data(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """seeds/ plus 22 generated articles (three pages of 'خبر' results), indexed by a job."""
    d = tmp_path_factory.mktemp("appdata")
    feed_dir = d / "wire"
    feed_dir.mkdir()
    lines = [
        json.dumps(
            {
                "id": f"w{i:02d}",
                "title": f"خبر عاجل رقم {i}",
                "body": f"خبر عاجل عن الميناء والمطار رقم {i}",
                "source": "وكالة" if i % 2 else '=HYPERLINK("http://evil")',
                "published_at": f"2020-01-{i + 1:02d}",
            },
            ensure_ascii=False,
        )
        for i in range(22)
    ]
    (feed_dir / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rec = JobRunner(open_store(d, backend="lancedb"), embedder).run(config_from_paths([SEEDS, feed_dir]))
    assert rec.status == "ok" and rec.added == 27
    return d


app, loading = open_app, model_loading


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
    assert url(at) == {"q": ["خبر عاجل"], "mode": ["keyword"], "from": ["2020-01-05"], "sort": ["newest"], "page": ["2"]}


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


def chart_rows(at: AppTest) -> list[dict]:
    """The rows of the page's chart (Streamlit sends them beside the spec, as Arrow)."""
    return pa.ipc.open_stream(at.get("vega_lite_chart")[0].proto.data.data).read_all().to_pylist()


def test_attention_over_time_counts_every_match_and_a_bar_narrows_the_dates(
    app_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """22 wire articles dated 2020-01-01..22, 11 from each source; the seeds are from 2015-16."""
    at = app(app_data, monkeypatch, q="خبر عاجل", mode="keyword", source="وكالة")
    assert not at.get("vega_lite_chart")  # on request only
    at.toggle(key="timeline").set_value(True).run()
    at.radio(key="interval").set_value("day").run()
    values = {v["start"]: (v["matches"], v["articles"]) for v in chart_rows(at)}
    assert sum(m for m, _ in values.values()) == 11 and len(values) == 21  # odd days, every day listed
    assert values["2020-01-02"] == (1, 1) and values["2020-01-03"] == (0, 0)  # the source filter holds for both
    at.toggle(key="count_stories").set_value(True).run()  # the briefs are never grouped: one story each
    assert {v["start"]: (v["matches"], v["articles"]) for v in chart_rows(at)} == values
    at.toggle(key="share").set_value(True).run()
    assert json.loads(at.get("vega_lite_chart")[0].proto.spec)["encoding"]["y"]["field"] == "share"
    assert bucket_dates([{"start": 1577836800000, "end": 1577923200000}]) == (dt.date(2020, 1, 1), dt.date(2020, 1, 2))
    assert bucket_dates([{"start": "2020-01-06", "end": "2020-01-12"}]) == (dt.date(2020, 1, 6), dt.date(2020, 1, 12))
    assert bucket_dates([]) is None


def test_top_terms_are_shown_with_counts_and_a_click_narrows_the_query(app_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 22 wire articles say الميناء والمطار, which no seed article does: both are top terms
    of the query's matches, المطار shown without its conjunction; clicking one requires it."""
    at = app(app_data, monkeypatch, q="خبر عاجل", mode="keyword")
    assert not at.pills  # on request only
    at.toggle(key="top_terms").set_value(True).run()
    pills = at.pills(key="top_term")
    assert {"الميناء · 22/22", "المطار · 22/22"} <= set(pills.options[:3])  # رقم ties with them
    assert "top terms of all 22 matches, against all 27 articles" in " ".join(c.value for c in at.caption)
    pills.set_value("المطار").run()
    assert at.text_input(key="q").value == "خبر عاجل +المطار" and url(at)["q"] == ["خبر عاجل +المطار"]
    assert not at.exception and at.pills(key="top_term").value is None


def test_the_calendars_last_day_and_a_far_page_are_no_traceback(app_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``to:9999-12-31`` in the query or the URL overflowed the day-after bound (issue 21.3)."""
    for params in ({"q": "خبر عاجل to:9999-12-31"}, {"q": "خبر عاجل", "to": "9999-12-31"}):
        at = app(app_data, monkeypatch, mode="keyword", **params)  # app() fails on any exception
        assert "22 نتيجة" in " ".join(c.value for c in at.caption) and not at.error
    at = app(app_data, monkeypatch, q="خبر عاجل", mode="keyword", page="1000000000")
    assert not at.error


def test_article_view_marks_the_query_and_lists_similar_articles(app_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    target = (
        SearchService(open_store(app_data, read_only=True, backend="lancedb"), Embedder)
        .search("همدان", mode="keyword")
        .hits[0]
        .article
    )
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
    assert metrics["المصادر · Sources"] == "3"  # العربية, وكالة, the =HYPERLINK one; the unsigned seeds are none
    assert any("incremental · ok" in s.value and "+27" in s.value for s in at.success)
    legend = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "+ جديد · new" in legend and "! فشل · failed" in legend
    assert len(at.dataframe) == 3
    jobs, _, per_source = (d.value for d in at.dataframe)
    assert list(jobs["generation"]) == [""]  # an incremental job makes no generation: not "None"
    assert "(none)" not in list(per_source["source"]) and "بدون مصدر · no source" in list(per_source["source"])


def test_date_filter_spans_the_archive_up_to_today(app_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app(app_data, monkeypatch, q="الجيش", mode="keyword", **{"from": "2015-12-01"})
    box = at.date_input(key="date_from")
    assert (box.min, box.max) == (dt.date(2015, 1, 1), dt.date.today())  # the oldest article's year: seeds/004
    assert at.date_input(key="date_to").max == dt.date.today()
    assert box.value == dt.date(2015, 12, 1) and not at.error
    assert "1 نتيجة" in " ".join(c.value for c in at.caption)  # seeds/004, the one dated article that says الجيش
    early = app(app_data, monkeypatch, q="الجيش", mode="keyword", **{"from": "1990-05-01"})
    assert early.date_input(key="date_from").value == dt.date(2015, 1, 1) and url(early)["from"] == ["2015-01-01"]
    later = app(app_data, monkeypatch, q="الجيش", mode="keyword", **{"to": "2099-01-01"})
    assert later.date_input(key="date_to").value == dt.date.today()


def test_landing_page_shows_the_archive_with_examples_that_find_something(
    app_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re
    from urllib.parse import parse_qs

    at = app(app_data, monkeypatch)
    html = page_html(at)
    assert 'class="landing"' in html and "<b>27</b>مقالة · articles" in html
    assert "<bdi>2015-12-21 – 2020-01-22</bdi>" in html and "<b>3</b>مصدر · sources" in html
    latest = re.findall(r'<li><a href="\?article=([^"]+)"', html)
    assert latest[:3] == ["w21", "w20", "w19"]  # newest first
    examples = [parse_qs(q.replace("&amp;", "&"))["q"][0] for q in re.findall(r'<a href="\?(q=[^"]+)"', html)]
    assert len(examples) == 4 and examples[0] == "خبر عاجل" and examples[-1] == "source:وكالة"
    assert len({w for q in examples[:3] for w in q.split()}) == 6  # three different pairs of words
    svc = SearchService(open_store(app_data, read_only=True, backend="lancedb"), Embedder)
    assert all(svc.search(q, mode="keyword").total > 0 for q in examples)  # each finds something here
    archive = overview(svc)
    assert (archive.oldest, archive.newest) == (dt.date(2015, 12, 21), dt.date(2020, 1, 22))
    assert archive.date_range(dt.date(2030, 1, 1)) == (dt.date(2015, 1, 1), dt.date(2030, 1, 1))


def test_first_search_answers_by_keyword_while_the_model_loads(app_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import streamlit as st

    st.cache_resource.clear()  # a server process that has not loaded the model yet (one per process)
    release = threading.Event()  # the model "loads" until the test says it is done
    real_init = Embedder.__init__

    def slow_init(self: Embedder, *args: object, **kwargs: object) -> None:
        release.wait(120)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(Embedder, "__init__", slow_init)
    t0 = time.perf_counter()
    at = app(app_data, monkeypatch, wait_for_model=False, q="الجيش السوري")
    first = time.perf_counter() - t0
    assert loading(at) and "<mark>" in page_html(at)  # keyword results, and a word that more are coming
    assert "semantic match" not in page_html(at) and "keyword weight" not in " ".join(c.value for c in at.caption)
    assert at.radio(key="mode").value == "hybrid" and "mode" not in url(at)  # the chosen mode stays
    at.run()
    assert loading(at)  # still loading: still keyword results, no wait
    release.set()
    deadline = time.monotonic() + 180
    while loading(at) and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    assert not loading(at) and "<mark>" in page_html(at)
    assert "الترتيب الدلالي · semantic rank #" in page_html(at)  # now the hybrid results: ranks by meaning too
    print(f"\nfirst search of a fresh app: keyword results in {first:.2f}s, hybrid after {time.perf_counter() - t0:.1f}s")


def test_bad_links_and_broken_backends_are_messages(app_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app(app_data, monkeypatch, q="خبر", mode="bogus", page="x", w="heavy", **{"from": "yesterday"})
    notes = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "mode 'bogus' is not a mode" in notes and "page 'x'" in notes and "w 'heavy'" in notes and "from 'yesterday'" in notes
    assert at.radio(key="mode").value == "hybrid"
    none = app(app_data, monkeypatch, q="كلمةلاتوجدابدا", mode="keyword")
    assert any("No results" in i.value and "hybrid mode" in i.value for i in none.info)
    filtered = app(app_data, monkeypatch, q="خبر", mode="hybrid", source="وكالة", **{"to": "2019-01-01"})
    hint = " ".join(i.value for i in filtered.info)
    assert "No results" in hint and "removing the source or date filters" in hint and "hybrid" not in hint
    monkeypatch.setenv("ARCHIVE_BACKEND", "elasticsearch")
    monkeypatch.setenv("ES_URL", "http://127.0.0.1:9")  # nothing listens there
    down = app(tmp_path, monkeypatch, q="روسيا")
    assert any("cannot reach Elasticsearch" in e.value.replace("\\", "") for e in down.error)


@given(
    st.builds(
        ViewState,
        q=st.text(max_size=50),
        mode=st.sampled_from(["hybrid", "keyword", "semantic"]),
        weight=st.sampled_from([0.0, 0.3, 0.5, 1.0]),
        sources=st.lists(st.text(min_size=1, max_size=8).map(str.strip).filter(bool), max_size=3, unique=True).map(tuple),
        date_from=st.none() | st.dates(),
        date_to=st.none() | st.dates(),
        sort=st.sampled_from(["relevance", "newest"]),
        page=st.integers(1, 1000),
        article=st.just(""),
        view=st.just("search"),
        group=st.booleans(),
    )
)
def test_view_state_survives_the_url(state: ViewState) -> None:
    from urllib.parse import parse_qs, urlsplit

    params = parse_qs(urlsplit(state.href()).query, keep_blank_values=True)
    back = ViewState.from_params(params)
    assert back.notes == () and back == state


def test_a_set_too_large_to_download_gets_the_command_that_exports_it(service: SearchService) -> None:
    """Past the app's limit the page gives the CLI line for the same set; run as shown, argparse
    reads it back to the same query and filters."""
    import shlex

    from indexer.cli import _query_after_dashes, build_parser

    state = ViewState(
        q='-"حزب الله" OR $(rm -rf ~)',
        mode="hybrid",
        weight=0.3,
        sources=("العربية", "x y"),
        date_from=dt.date(2015, 1, 1),
        sort="newest",
        all_words=True,
    )
    line = state.export_command("out file.csv")
    parser = build_parser()
    words = shlex.split(line)
    assert words[:4] == ["python", "-m", "indexer", "export"]
    args = parser.parse_args(_query_after_dashes(parser, words[3:]))
    assert (args.query, args.mode, args.weight, args.source, args.date_from, args.sort, args.all_words, str(args.out)) == (
        state.q,
        "hybrid",
        0.3,
        ["العربية", "x y"],
        dt.date(2015, 1, 1),
        "newest",
        True,
        "out file.csv",
    )


def test_export_files_are_named_after_the_query_and_the_day() -> None:
    assert file_name('"الجيش السوري" -داعش', dt.date(2026, 12, 2)) == "الجيش-السوري-داعش_2026-12-02"
    assert file_name("../../etc/passwd", dt.date(2026, 1, 1)) == "etc-passwd_2026-01-01"
    assert file_name("", dt.date(2026, 1, 1)) == "results_2026-01-01"


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


def test_shown_article_text_is_escaped_and_cannot_reorder_the_page() -> None:
    from archive.highlight import escape, highlight_all
    from archive.query import parse
    from search_ui.render import help_html, landing_html

    text = 'خبر <b>"عاجل"</b> \u202eevil\u202c \u2067عكس\u2069 \u200fعلامة'
    assert escape(text) == "خبر &lt;b&gt;&quot;عاجل&quot;&lt;/b&gt; evil عكس \u200fعلامة"  # marks (RLM) stay
    assert highlight_all(text, parse("عاجل")) == "خبر &lt;b&gt;&quot;<mark>عاجل</mark>&quot;&lt;/b&gt; evil عكس \u200fعلامة"
    a = Article.make("x", "\u202eevil <i>", "نص", None, "\u202eReuters")
    html = landing_html(1, None, {"\u202eReuters": 1}, [a], ["\u202eq"])
    assert "\u202e" not in html and "<i>" not in html and "<bdi>evil &lt;i&gt;</bdi>" in html
    assert '<code dir="rtl">-داعش</code>' in help_html() and '<code dir="ltr">from:2015-01-01 to:2015-12-31</code>' in help_html()


def test_a_storys_versions_are_listed_escaped_with_their_permalinks() -> None:
    from archive.search import Hit
    from search_ui.render import result_html

    first = Article.make("a1", "قمة الرياض", "نص", None, "وكالة")
    repost = Article.make("a2", "<script>x</script> قمة", "نص", dt.datetime(2021, 3, 2), "\u202eموقع")
    hit = Hit(first, 0.1, 1, 2.0, None, None, None, "قمة الرياض", "نص", 1, versions=[repost])
    html = result_html(1, hit, ViewState(q="قمة"))
    assert "2 versions of this story" in html and "<script>" not in html and "\u202e" not in html
    assert "&lt;script&gt;x&lt;/script&gt; قمة" in html and "article=a2" in html and "2021-03-02" in html
    assert "versions of this story" not in result_html(1, Hit(first, 0.1, 1, 2.0, None, None, None, "", "", 1), ViewState())
