"""The Streamlit search app: a landing page with the archive at a glance, one query box, mode
and weight, facets, sort, pages, right-to-left results with the matched words highlighted in
the original text, an article view with similar articles, CSV/JSONL export and an index status
page. Every view is a permalink (the whole state lives in the URL). The embedding model loads in
the background from the first page view on; until it is ready, searches answer by keyword.

Talks only to ``archive.search.SearchService`` over a store opened read-only: the app never
writes. All article text reaches HTML through ``archive.highlight`` or ``search_ui.render``,
which escape it first. Run: ``streamlit run search_ui/app.py`` (data dir from
$ARCHIVE_DATA_DIR, default ./data; Elasticsearch when $ARCHIVE_BACKEND=elasticsearch or $ES_URL
is set).
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from dataclasses import replace
from pathlib import Path
from typing import Literal, cast

import altair as alt
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive import config, export  # noqa: E402
from archive.config import ESSettings  # noqa: E402
from archive.embeddings import Embedder, ModelUnavailable  # noqa: E402
from archive.model import MODES, Mode, Sort  # noqa: E402
from archive.search import SearchResult, SearchService  # noqa: E402
from archive.store import StoreError, indexed_model, open_store  # noqa: E402
from archive.timeline import INTERVALS, Bucket, Interval  # noqa: E402
from search_ui import render  # noqa: E402
from search_ui.loading import BackgroundLoad  # noqa: E402
from search_ui.overview import Overview, overview  # noqa: E402
from search_ui.state import PAGE_SIZE, ViewState, bucket_dates, refined  # noqa: E402

MODE_LABELS = {"hybrid": "هجين · Hybrid", "keyword": "كلمات · Keyword", "semantic": "دلالي · Semantic"}
SORT_LABELS = {"relevance": "الأكثر صلة · Relevance", "newest": "الأحدث · Newest"}
EXPORT_LIMIT = 10_000  # articles a download may hold (every match of the result set up to this)
TOP_TERMS = 20  # terms shown


def _warm_embedder(model: str) -> Embedder:
    """The model with one query encoded: the first encoding also takes seconds."""
    embedder = Embedder(model)
    embedder.queries(["warm up"])
    return embedder


@st.cache_resource(show_spinner=False)
def _model(model: str) -> BackgroundLoad[Embedder]:
    """The model, loading in the background from the first page view of this server process."""
    return BackgroundLoad(lambda: _warm_embedder(model))


@st.cache_resource(show_spinner=False)
def _service(data_dir: str, backend: str, es_target: str) -> tuple[SearchService, str]:
    """One read-only store and one model per server process and index (an error is not cached: a
    later rerun retries, so the app recovers by itself when the backend comes back). The model is
    $ARCHIVE_MODEL's, else the built-in encoder the index was embedded with."""
    store = open_store(Path(data_dir), read_only=True, backend=backend)
    model = config.model_name(indexed=indexed_model(store))
    return SearchService(store, lambda: _model(model).get()), model


@st.cache_data(ttl=60, show_spinner=False)
def _overview(_svc: SearchService, key: str) -> Overview:
    """The archive at a glance: sources, dates, latest articles (refreshed every minute)."""
    return overview(_svc)


def _url_state() -> ViewState:
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    return ViewState.from_params(params)


def _seed(state: ViewState) -> None:
    """First run of a session: widgets start from the URL (a permalink restores the view)."""
    if st.session_state.get("seeded"):
        return
    st.session_state.update(
        q=state.q,
        mode=state.mode,
        weight=state.weight,
        sources=list(state.sources),
        date_from=state.date_from,
        date_to=state.date_to,
        sort=state.sort,
        page=state.page,
        weaker=state.weaker,
        all_words=state.all_words,
        group=state.group,
        last_key=None,
        seeded=True,
    )


def _widgets(svc: SearchService, key: str) -> ViewState:
    top = st.columns([8, 1])
    top[0].text_input("ابحث · Search", key="q", max_chars=1000, placeholder='الجيش السوري · "حزب الله" -داعش · Russia Iran')
    with top[1].popover("؟ Help"):
        st.markdown(render.help_html(), unsafe_allow_html=True)
    cols = st.columns([2, 1, 1])
    mode = cols[0].radio("Mode", MODES, format_func=MODE_LABELS.get, horizontal=True, key="mode")
    cols[1].slider("وزن المعنى · Semantic weight", 0.0, 1.0, step=0.1, key="weight", disabled=mode != "hybrid")
    cols[2].checkbox(
        "كل الكلمات · All words",
        key="all_words",
        help="Juxtaposed words are all required (AND); off: any of them, best first (OR)",
    )
    with st.sidebar:
        st.markdown(render.app_link("?view=status", "حالة الفهرس · Index status"), unsafe_allow_html=True)
        st.header("تصفية · Filters")
        archive = _overview(svc, key)
        known = archive.sources
        options = list(dict.fromkeys([*known, *st.session_state.get("sources", [])]))
        st.multiselect(
            "المصدر · Source", options, key="sources", format_func=lambda s: f"{s or '(بدون مصدر · none)'} ({known.get(s, 0)})"
        )
        lo, hi = archive.date_range(dt.date.today())  # the archive's own dates, never the future
        for k in ("date_from", "date_to"):  # a permalink's date outside them: the nearest one
            if st.session_state.get(k) is not None:
                st.session_state[k] = min(max(st.session_state[k], lo), hi)
        st.date_input("من · From", key="date_from", format="YYYY-MM-DD", min_value=lo, max_value=hi)
        st.date_input("إلى · To", key="date_to", format="YYYY-MM-DD", min_value=lo, max_value=hi)
        st.radio("الترتيب · Sort", list(SORT_LABELS), format_func=SORT_LABELS.get, key="sort")
        st.checkbox(
            "التطابقات الأضعف · Weaker matches",
            key="weaker",
            help="List the semantic hits below the relevance floor after the matches (marked, never counted)",
        )
        st.checkbox(
            "تجميع النسخ · Group reposts",
            key="group",
            help="One result per story: the same text republished by several sources is listed once, "
            "with its other versions beside it",
        )
    ss = st.session_state
    state = ViewState(
        ss.q.strip(),
        ss.mode,
        float(ss.weight),
        tuple(ss.sources),
        ss.date_from,
        ss.date_to,
        ss.sort,
        int(ss.page),
        weaker=bool(ss.get("weaker")),
        all_words=bool(ss.get("all_words")),
        group=bool(ss.get("group", True)),
    )
    if ss.last_key is not None and state.search_key() != ss.last_key:
        ss.page = 1  # a new query or filter starts at its first page
        state = replace(state, page=1)
    ss.last_key = state.search_key()
    return state


def _search(svc: SearchService, state: ViewState, page_size: int = PAGE_SIZE) -> SearchResult:
    return svc.search(
        state.q,
        mode=cast(Mode, state.mode),  # ViewState.from_params keeps only known modes and sorts
        semantic_weight=state.weight,
        sources=state.sources,
        date_from=state.date_from,
        date_to=state.date_to,
        sort=cast(Sort, state.sort),
        page=state.page,
        page_size=page_size,
        weaker=state.weaker,
        default="AND" if state.all_words else "OR",
        group=state.group,
    )


def _go(page: int) -> None:
    st.session_state.page = page


@st.fragment(run_every=1.0)
def _model_progress(model: BackgroundLoad[Embedder], mode: str) -> None:
    """Says the model is loading (and for how long), and reruns the page once it is ready, so
    the keyword results shown meanwhile give way to the mode's own."""
    if model.ready():
        st.rerun()
    st.info(
        f"جار تحميل نموذج المعنى ({model.seconds():.0f} ث) · Loading the semantic model ({model.seconds():.0f} s): "
        f"keyword results meanwhile; the {mode} results replace them when it is ready."
    )


def _no_results_hint(state: ViewState) -> str:
    """What to try, for the mode and filters in use (hybrid mode is not offered to itself)."""
    if state.sources or state.date_from or state.date_to:
        return "جرّب إزالة عوامل التصفية · Try removing the source or date filters."
    if state.mode == "keyword":
        return "جرّب كلمات أقل أو وضع البحث الهجين · Try fewer words, or hybrid mode (it also finds by meaning)."
    return "جرّب كلمات أقل أو كلمات أخرى · Try fewer or other words."


def landing_page(archive: Overview) -> None:
    today = dt.date.today()
    span = (archive.oldest, archive.newest or today) if archive.oldest else None
    st.markdown(
        render.caption_html(
            "اكتب كلمات بالعربية أو بالإنجليزية، أو اختر مصدرا أو تاريخا",
            "Type Arabic or English words, or pick a source or dates",
        ),
        unsafe_allow_html=True,
    )
    st.markdown(
        render.landing_html(archive.articles, span, archive.sources, archive.latest, archive.examples), unsafe_allow_html=True
    )


def search_page(svc: SearchService, key: str, model: BackgroundLoad[Embedder]) -> None:
    state = _widgets(svc, key)
    st.query_params.from_dict(state.to_params())
    if not state.q and not state.sources and not state.date_from and not state.date_to:
        landing_page(_overview(svc, key))
        return
    loading = state.mode != "keyword" and bool(state.q) and not model.ready()
    asked = replace(state, mode="keyword") if loading else state
    try:
        with st.spinner("جار البحث… · Searching…"):
            res = _search(svc, asked)
            if res.total and not res.hits:  # a link to a page past the end: show the last one
                st.session_state.page = max(1, math.ceil((res.stories if state.group else res.total) / PAGE_SIZE))
                state = replace(state, page=st.session_state.page)
                asked = replace(asked, page=state.page)
                st.query_params.from_dict(state.to_params())
                res = _search(svc, asked)
    except ModelUnavailable as exc:
        _model.clear()  # the next search tries to load it again
        st.error(f"نموذج التضمين غير متاح · The embedding model is not available: {render.md(exc)}. Keyword mode still works.")
        return
    except StoreError as exc:
        st.error(f"تعذر البحث · Search failed: {render.md(exc)}. The app retries on your next search.")
        return
    if loading:
        _model_progress(model, state.mode)
    for w in res.warnings:
        st.warning(render.md(w))
    listed = (res.stories if state.group else res.total) + (res.weaker if state.weaker else 0)
    # grouped past the fetch depth, the stories counted are those of the ranked matches: the next
    # page reads deeper, so one more page is offered (never pages of articles that may hold no story)
    pages = max(1, math.ceil(listed / PAGE_SIZE) + (0 if res.stories_exact or not state.group else 1))
    more = "أكثر من " if not res.total_exact else ""
    st.caption(
        render.caption_html(
            f"{more}{res.total:,} نتيجة · {res.total_text} results",
            f"{res.took_ms:.0f} ms",
            f"صفحة {res.page} من {pages} · page {res.page} of {pages}",
        ),
        unsafe_allow_html=True,
    )
    if state.group and res.stories < len(res.order):
        among = "" if res.stories_exact else f" among the first {len(res.order):,} ranked matches"
        st.caption(
            render.caption_html(
                f"{res.stories:,} خبرا · {res.stories:,} stories{among}",
                "the same text republished by several sources is one result with its versions",
            ),
            unsafe_allow_html=True,
        )
    if res.weaker:
        st.caption(
            render.caption_html(
                f"{res.weaker} تطابقا أضعف · {res.weaker} weaker semantic matches",
                "below the relevance floor, not counted"
                + (", listed after the matches" if state.weaker else ": tick “Weaker matches” to list them"),
            ),
            unsafe_allow_html=True,
        )
    if res.mode == "hybrid" and res.weights[0] < 1.0 - state.weight - 1e-9:
        st.caption(
            render.caption_html(
                f"وزن الكلمات · keyword weight {res.weights[0]:.2f} of {1.0 - state.weight:.2f}",
                "some query words never occur in the archive, so keyword matches count for less",
            ),
            unsafe_allow_html=True,
        )
    if not res.hits:
        if not loading:  # while loading, the mode's own results are still to come
            st.info(f"لا نتائج · No results. {_no_results_hint(state)}")
        return
    if res.sources:
        st.markdown(render.facets_html(res.sources, res.years), unsafe_allow_html=True)
    _timeline_view(svc, res, state, key)
    _terms_view(svc, res)
    st.markdown(render.results_html(res.hits, (res.page - 1) * res.page_size + 1, state), unsafe_allow_html=True)
    nav = st.columns([2, 2, 3, 1, 1])
    nav[0].button(
        "→ السابق · Prev", disabled=res.page <= 1, on_click=_go, args=(res.page - 1,), key="prev", use_container_width=True
    )
    nav[1].button(
        "التالي · Next ←", disabled=res.page >= pages, on_click=_go, args=(res.page + 1,), key="next", use_container_width=True
    )

    if res.total > EXPORT_LIMIT:  # built in the server's memory on a click: past this, the CLI streams it
        nav[3].caption(render.caption_html(f"{res.total:,} > {EXPORT_LIMIT:,}: python -m indexer export"), unsafe_allow_html=True)
        st.code(asked.export_command(export.file_name(state.q, dt.date.today()) + ".csv"), language="bash")
        return
    name = export.file_name(state.q, dt.date.today())
    nav[3].download_button(
        "CSV", data=lambda: export.to_csv(svc.export(res)), file_name=f"{name}.csv", mime="text/csv", on_click="ignore", key="csv"
    )
    nav[4].download_button(
        "JSONL",
        data=lambda: export.to_jsonl(svc.export(res)),
        file_name=f"{name}.jsonl",
        mime="application/jsonl",
        on_click="ignore",
        key="jsonl",
    )


INTERVAL_LABELS = {
    "auto": "تلقائي · Auto",
    "day": "يوم · Day",
    "week": "أسبوع · Week",
    "month": "شهر · Month",
    "year": "سنة · Year",
}


@st.cache_data(ttl=60, max_entries=32, show_spinner=False)
def _story_timeline(_svc: SearchService, _res: SearchResult, key: str, asked: tuple, interval: str) -> tuple[str, list[Bucket]]:
    """The timeline in stories reads every match's and every article's metadata: kept a minute
    per index and query (``key``, ``asked``), so paging and reruns do not read them again."""
    chosen, buckets, _ = _svc.timeline(_res, cast("Interval | Literal['auto']", interval), stories=True)
    return chosen, buckets


def _timeline_view(svc: SearchService, res: SearchResult, state: ViewState, key: str) -> None:
    """Attention over time, on request (it reads the archive's counts once more): the matches
    per bucket, or their share of all articles under the same filters, with both on hover;
    clicking a bar narrows the date filter to that bucket; the series as CSV."""
    if not st.toggle("الاهتمام عبر الزمن · Attention over time", key="timeline"):
        return
    cols = st.columns([4, 2, 2])
    interval = cols[0].radio(
        "Interval",
        ("auto", *INTERVALS),
        format_func=INTERVAL_LABELS.get,
        horizontal=True,
        key="interval",
        label_visibility="collapsed",
    )
    share = cols[1].toggle("النسبة · Share", key="share", help="matches as a share of all articles in each bucket")
    stories = cols[2].toggle(
        "القصص · Stories", key="count_stories", help="count stories (reposts once, where first published), not articles"
    )
    if stories:
        chosen, buckets = _story_timeline(svc, res, key, state.search_key(), interval)
    else:
        chosen, buckets, _ = svc.timeline(res, cast("Interval | Literal['auto']", interval))
    if not buckets:
        st.caption(render.caption_html("لا تواريخ · No dated matches"), unsafe_allow_html=True)
        return
    values = [
        {
            "start": b.start.isoformat(),
            "end": b.end.isoformat(),
            "matches": b.matches,
            "articles": b.articles,
            "share": round(b.share, 4),
        }
        for b in buckets
    ]
    pick = alt.selection_point(name="bucket", fields=["start", "end"])
    chart = (
        alt.Chart(alt.Data(values=values))
        .mark_bar()
        .encode(
            x=alt.X("start:T", title=f"{INTERVAL_LABELS[chosen]}"),
            y=alt.Y("share:Q", title="share", axis=alt.Axis(format="%"))
            if share
            else alt.Y("matches:Q", title="matching stories" if stories else "matches"),
            tooltip=[
                alt.Tooltip("start:T", title="from"),
                alt.Tooltip("end:T", title="to"),
                "matches:Q",
                "articles:Q",
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
        .add_params(pick)
    )
    st.altair_chart(chart, width="stretch", on_select=_narrow_to_bucket, selection_mode="bucket", key="timeline_chart")
    name = export.file_name(state.q, dt.date.today())
    st.download_button(
        "CSV",
        data=export.timeline_csv(buckets, {}),
        file_name=f"{name}_timeline.csv",
        mime="text/csv",
        on_click="ignore",
        key="timeline_csv",
    )


def _terms_view(svc: SearchService, res: SearchResult) -> None:
    """The result set's most significant terms, on request (it reads the matches' terms and
    the archive's counts of them); clicking one adds it to the query as required."""
    if not st.toggle("أبرز الكلمات · Top terms", key="top_terms"):
        return
    top = svc.top_terms(res, TOP_TERMS)
    st.caption(
        render.caption_html(f"top terms of {top.describe()}", "matches holding it / articles holding it"), unsafe_allow_html=True
    )
    if not top.terms:
        st.caption(
            render.caption_html("لا كلمات بارزة · No term is more common in the matches than in the archive"),
            unsafe_allow_html=True,
        )
        return
    counts = {t.term: f"{t.term} · {t.matches:,}/{t.articles:,}" for t in top.terms}
    st.pills(
        "Top terms",
        list(counts),
        format_func=lambda t: counts[t],
        key="top_term",
        on_change=_add_term,
        label_visibility="collapsed",
    )


def _add_term() -> None:
    """A top term was clicked: the query becomes the narrower one (a new search, from page one)."""
    term = st.session_state.top_term
    if term:
        st.session_state.q = refined(st.session_state.q, term)
        st.session_state.top_term = None


def _narrow_to_bucket() -> None:
    """A bar was clicked: its bucket becomes the date filter (a new search, from page one)."""
    picked = bucket_dates(st.session_state.timeline_chart.selection.get("bucket") or [])
    if picked:
        st.session_state.date_from, st.session_state.date_to = picked


def article_page(svc: SearchService, state: ViewState) -> None:
    st.markdown(
        render.app_link(state.href(view="search", article=""), "→ العودة إلى النتائج · Back to the results"),
        unsafe_allow_html=True,
    )
    found = svc.article(state.article, state.q)
    if found is None:
        st.warning(f"لا توجد مقالة بهذا المعرف · No article with id {render.md(repr(state.article))} (it may have been removed).")
        return
    article, title_html, body_html = found
    st.markdown(render.article_html(article, title_html, body_html), unsafe_allow_html=True)
    st.subheader("مقالات مشابهة · Similar articles")
    st.markdown(render.similar_html(svc.similar(article.id, limit=5), state), unsafe_allow_html=True)


def status_page(svc: SearchService) -> None:
    st.markdown(render.app_link("?", "→ البحث · Search"), unsafe_allow_html=True)
    st.header("حالة الفهرس · Index status")
    store = svc.store
    info = store.info()
    cols = st.columns(4)
    cols[0].metric("المقالات · Articles", info.articles)
    cols[1].metric("المقاطع · Passages", info.passages)
    cols[2].metric("المصادر · Sources", len([s for s in info.sources if s]))  # articles without one are no source
    cols[3].metric("الخلفية · Backend", info.backend)
    st.caption(
        render.md(
            f"{info.location} · model {info.model} ({info.dim}-d) · analysis v{info.analysis_version} · "
            f"schema v{info.schema_version}"
        )
    )
    jobs = store.jobs(10)
    st.subheader("آخر مهمة فهرسة · Last reindex job")
    if not jobs:
        st.info("No job recorded yet.")
    else:
        last = jobs[0]
        outcome = {"ok": st.success, "partial": st.warning, "interrupted": st.warning, "running": st.info}.get(
            str(last.get("status")), st.error
        )
        outcome(
            render.md(
                f"{last.get('mode')} · {last.get('status')} · started {last.get('started')} · "
                f"+{last.get('added')} ~{last.get('updated')} -{last.get('deleted')} ={last.get('unchanged')} "
                f"!{last.get('failed')}" + (f" · {last['message']}" if last.get("message") else "")
            )
        )
        st.caption(render.md("+ جديد · new · ~ محدّث · updated · - محذوف · deleted · = بلا تغيير · unchanged · ! فشل · failed"))
        columns = ("started", "mode", "status", "added", "updated", "deleted", "unchanged", "failed", "seconds")
        st.dataframe(
            [{**{k: r.get(k) for k in columns}, "generation": r.get("generation") or ""} for r in jobs], hide_index=True
        )  # generation: only a full rebuild makes one
    st.subheader("الأجيال · Generations")
    st.dataframe([{"name": g.name, "active": g.active, "articles": g.articles} for g in store.generations()], hide_index=True)
    st.subheader("حسب المصدر · Per source")
    st.dataframe([{"source": s or "بدون مصدر · no source", "articles": n} for s, n in info.sources.items()], hide_index=True)


def main() -> None:
    st.set_page_config(page_title="أرشيف الأخبار · Arabic news search", layout="wide")
    st.markdown(render.CSS, unsafe_allow_html=True)
    st.title("أرشيف الأخبار العربية")
    url = _url_state()
    for note in url.notes:
        st.warning(f"رابط غير صالح جزئيا · Part of the link was ignored: {render.md(note)}")
    data_dir = str(config.data_dir())
    try:
        backend = config.backend()
        es = ESSettings.from_env()
        svc, model = _service(data_dir, backend, f"{es.safe_url}/{es.index}" if backend == "elasticsearch" else "")
    except (StoreError, ValueError) as exc:
        st.error(f"الفهرس غير متاح · The index is not available: {render.md(exc)}")
        return
    loader = _model(model)  # starts loading now, whatever this page is
    try:
        if url.view == "status":
            status_page(svc)
        elif url.view == "article":
            article_page(svc, url)
        else:
            _seed(url)
            search_page(svc, f"{backend}:{data_dir}", loader)
    except StoreError as exc:
        st.error(f"تعذر الوصول إلى الفهرس · The index could not be reached: {render.md(exc)}. Reload to retry.")


main()
