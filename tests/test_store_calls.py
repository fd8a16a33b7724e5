"""How many store calls one search costs: each one is a round trip to Elasticsearch or a pass
over LanceDB's tables, so a new one must be a decision, not an accident."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from archive.embeddings import Embedder
from archive.search import SearchService
from archive.store import open_store


class Counting:
    """A store whose every method call is counted by name."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attr(*args, **kwargs)

        return counted


def test_one_search_page_costs_a_known_number_of_store_calls(seed_store_dir: Path, embedder: Embedder) -> None:
    store = Counting(open_store(seed_store_dir, read_only=True))
    svc = SearchService(store, embedder)  # type: ignore[arg-type]
    budgets = {  # mode and query -> the store calls page 1 makes (measured; a new call must be a decision)
        ("keyword", "الجيش السوري"): 3,  # ranked (hits and exact tally in one pass), get ×2 (metadata, the page's text)
        ("hybrid", "الجيش السوري"): 5,  # + semantic, known_terms (the weights of words the index lacks)
        ("semantic", "الجيش السوري"): 3,  # semantic, get ×2
        ("hybrid", "+حلب -داعش"): 7,  # + keyword ×2: the required and the excluded part constrain meaning
    }
    svc.search("حلب", mode="semantic")
    assert store.calls["info"] == 1  # the first search that needs meaning reads the index's model, once
    seen = {}
    for (mode, query), budget in budgets.items():
        store.calls.clear()
        res = svc.search(query, mode=mode)  # type: ignore[arg-type]
        assert res.hits, (mode, query)
        seen[(mode, query)] = dict(store.calls)
        assert sum(store.calls.values()) <= budget, (mode, query, dict(store.calls))
    assert all(calls.get("get", 0) <= 2 for calls in seen.values()), seen  # metadata once, text for one page
