"""Streamlit search page: one query box, mode and weight, right-to-left results with the matched
words highlighted in the original text.

Talks only to ``archive.search.SearchService`` over a store opened read-only: the app never
writes. All article text reaches HTML through ``archive.highlight``, which escapes it first.
Run: ``streamlit run search_ui/app.py`` (data dir from $ARCHIVE_DATA_DIR, default ./data; the
Elasticsearch backend when $ARCHIVE_BACKEND=elasticsearch or $ES_URL is set).
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive import config  # noqa: E402
from archive.embeddings import Embedder, ModelUnavailable  # noqa: E402
from archive.search import MODES, SearchService  # noqa: E402
from archive.store import StoreError, open_store  # noqa: E402

MODE_LABELS = {"hybrid": "هجين · Hybrid", "keyword": "كلمات · Keyword", "semantic": "دلالي · Semantic"}
CSS = """
<style>
.results, .result { direction: rtl; text-align: right;
  font-family: "Noto Naskh Arabic", "Amiri", "Geeza Pro", "Segoe UI", "Tahoma", "Arial", sans-serif; }
.result { border-bottom: 1px solid #e5e5e5; padding: .6rem 0 .8rem; }
.result h3 { font-size: 1.15rem; margin: 0 0 .25rem; line-height: 1.6; }
.result .meta { color: #666; font-size: .85rem; }
.result .snippet { line-height: 1.9; font-size: 1.02rem; }
.result mark { background: #ffe58f; padding: 0 .1em; border-radius: 2px; }
.result .badge { font-size: .75rem; background: #e8f0fe; color: #1a56db; border-radius: 8px; padding: 0 .45em; }
</style>
"""


@st.cache_resource(show_spinner=False)
def _embedder(model: str, data_dir: str) -> Embedder:
    return Embedder(model, data_dir=Path(data_dir))


@st.cache_resource(show_spinner=False)
def _service(data_dir: str, model: str, backend: str) -> SearchService:
    store = open_store(Path(data_dir), read_only=True, backend=backend)
    return SearchService(store, lambda: _embedder(model, data_dir))


def _result_html(i: int, hit) -> str:  # type: ignore[no-untyped-def]
    a = hit.article
    when = a.published_at.strftime("%Y-%m-%d") if a.published_at else ""
    meta = " · ".join(html.escape(x) for x in (a.source, when) if x)
    badge = '<span class="badge">تطابق دلالي · semantic match</span>' if hit.match == "semantic" else ""
    title = hit.title_html or html.escape(a.id)
    return (
        f'<div class="result" dir="rtl"><h3 dir="auto">{i}. {title}</h3>'
        f'<div class="meta" dir="auto">{meta} {badge}</div>'
        f'<div class="snippet" dir="auto">{hit.snippet_html}</div></div>'
    )


def main() -> None:
    st.set_page_config(page_title="أرشيف الأخبار · Arabic news search", layout="wide")
    st.markdown(CSS, unsafe_allow_html=True)
    st.title("أرشيف الأخبار العربية")
    data_dir, model = str(config.data_dir()), config.model_name()
    try:
        svc = _service(data_dir, model, config.backend())
    except (StoreError, ValueError) as exc:
        st.error(f"The index is not available: {exc}")
        return

    query = st.text_input("ابحث · Search", key="q", placeholder='الجيش السوري · "حزب الله" -داعش · Russia Iran')
    cols = st.columns([2, 1])
    mode = cols[0].radio("Mode", MODES, format_func=MODE_LABELS.get, horizontal=True, key="mode")
    weight = cols[1].slider("Semantic weight", 0.0, 1.0, 0.5, 0.1, key="weight", disabled=mode != "hybrid")
    if not query.strip():
        st.caption("اكتب كلمات بالعربية أو بالإنجليزية. Type Arabic or English words.")
        return
    try:
        with st.spinner("Searching…"):
            res = svc.search(query, mode=mode, semantic_weight=weight)
    except ModelUnavailable as exc:
        st.error(f"The embedding model is not available: {exc}. Keyword mode still works.")
        return
    except StoreError as exc:
        st.error(f"Search failed: {exc}")
        return
    for w in res.warnings:
        st.warning(w)
    st.caption(f"{res.total} results · {res.took_ms:.0f} ms")
    if not res.hits:
        st.info("لا نتائج · No results")
        return
    first = (res.page - 1) * res.page_size + 1
    body = "".join(_result_html(i, h) for i, h in enumerate(res.hits, first))
    st.markdown(f'<div class="results" dir="rtl">{body}</div>', unsafe_allow_html=True)


main()
