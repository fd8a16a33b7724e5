"""mappings/news.json stays in step with what the stores write."""

from __future__ import annotations

import json

from archive.store.lance import LanceStore

from .conftest import ROOT


def test_mapping_covers_the_stored_article_fields() -> None:
    mapping = json.loads((ROOT / "mappings" / "news.json").read_text(encoding="utf-8"))["mappings"]
    props = mapping["properties"]
    stored = set(LanceStore._schemas(384)["articles"].names)  # noqa: SLF001
    assert stored <= set(props), stored - set(props)
    for field in ("stem", "title_stem", "exact"):
        assert props[field]["analyzer"] == "preanalyzed" and field in mapping["_source"]["excludes"]
    vec = props["passages"]["properties"]["vector"]
    assert props["passages"]["type"] == "nested" and vec["index_options"]["type"] == "int8_hnsw"
    assert vec["similarity"] == "cosine" and "passages.vector" in mapping["_source"]["excludes"]
    passage_fields = set(LanceStore._schemas(384)["passages"].names)  # noqa: SLF001
    assert {"n", "start", "end", "text", "vector"} <= passage_fields & set(props["passages"]["properties"])
