"""Near-duplicate stories: the same wire story republished by several sources (an edited
headline, an agency line added, paragraphs reordered) is one story with several versions.

At index time each article gets a MinHash signature of the word shingles of its body (the
normalized exact terms, stop words kept: they carry the wording) and the LSH band keys of that
signature; an article joins the story of its most similar earlier article whose estimated
Jaccard similarity reaches ``SAME_STORY``, found through shared band keys, or starts its own
story (named by its id). Both backends store the story, the bands and the signature alike, so
results group the same way on either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import numpy as np
from datasketch import MinHash

from archive.store.base import Fingerprint, IndexedArticle

SHINGLE = 3  # words per shingle
PERMUTATIONS = 128
BANDS, ROWS = 32, 4  # an LSH candidate shares one band of 4 values: likely at Jaccard 0.5 (p=0.87), rare at 0.2 (0.05)
SAME_STORY = 0.5  # estimated Jaccard of the shingles at which two bodies are one story
MIN_TERMS = 40  # shorter bodies (briefs, templates) are never grouped: their wording is too generic
SEED = 1  # fixed: signatures written by one run must compare with those of the next


def signature(terms: Sequence[str]) -> np.ndarray | None:
    """The MinHash signature of a body's word shingles; None for a body under ``MIN_TERMS``."""
    if len(terms) < MIN_TERMS:
        return None
    mh = MinHash(num_perm=PERMUTATIONS, seed=SEED)
    mh.update_batch([" ".join(terms[i : i + SHINGLE]).encode("utf-8") for i in range(len(terms) - SHINGLE + 1)])
    return mh.hashvalues.astype(np.uint32)


def bands(sig: np.ndarray | None) -> list[str]:
    """The LSH band keys of a signature: band number and a digest of its rows."""
    if sig is None:
        return []
    return [
        f"{b:02d}{hashlib.blake2b(sig[b * ROWS : (b + 1) * ROWS].tobytes(), digest_size=8).hexdigest()}" for b in range(BANDS)
    ]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures (the share of equal values)."""
    return float(np.mean(a == b))


def assign(batch: Sequence[IndexedArticle], candidates: Callable[[list[str]], Iterable[Fingerprint]]) -> list[IndexedArticle]:
    """``batch`` (IndexedArticle) with each article's story: that of its most similar earlier
    article, in the store (``candidates`` of the batch's band keys) or earlier in the batch,
    else its own id. An article is never its own candidate (an updated one is grouped anew)."""
    keys = sorted({k for item in batch for k in bands(item.signature)})
    in_batch = {i.article.id for i in batch}
    known = [f for f in (candidates(keys) if keys else ()) if f.article_id not in in_batch]
    by_band: dict[str, list[Fingerprint]] = {}
    for f in known:
        for k in bands(f.signature):
            by_band.setdefault(k, []).append(f)
    out = []
    for item in batch:
        story = item.article.id
        if item.signature is not None:
            mine = bands(item.signature)
            near = {f.article_id: f for k in mine for f in by_band.get(k, ())}
            scored = sorted(
                ((similarity(item.signature, f.signature), f.story, f.article_id) for f in near.values()),
                key=lambda x: (-x[0], x[2]),
            )
            if scored and scored[0][0] >= SAME_STORY:
                story = scored[0][1]
            me = Fingerprint(item.article.id, story, item.signature)
            for k in mine:
                by_band.setdefault(k, []).append(me)
        out.append(replace(item, story=story))
    return out
