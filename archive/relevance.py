"""The relevance floor of the semantic channel: which nearest neighbours count as matches.

A dense index returns neighbours for any query, nonsense included, and multilingual-e5 cosines
are compressed (on the seeds on-topic queries score 0.80-0.87, off-topic and nonsense ones up to
0.83), with a level that moves with the query's language and length. So one absolute cosine
barely separates them. The floor here is a null model: the query is also compared with a fixed
set of generic news paragraphs about everything (``background_texts.txt``, shipped with the
product, Arabic and English); a passage is a match only when it is more like the query than the
closest generic paragraph is, by ``margin``. Off-topic queries are as close to generic text as
to the archive and fall below it; an on-topic query's passages are closer to it than any generic
paragraph. An optional gap keeps only hits within ``gap`` of the best one, and an optional
absolute minimum can be added.

The parameters are calibrated by ``bench/calibration.py`` (which reads them from here) for
``CALIBRATED_MODEL``; the numbers and the trade-off are in its report and the README. Pure
functions and a frozen dataclass: the search service decides what to do below the floor.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

BACKGROUND_FILE = Path(__file__).with_name("background_texts.txt")
CALIBRATED_MODEL = "intfloat/multilingual-e5-small"

# Calibrated by bench/calibration.py (tuning halves) for CALIBRATED_MODEL.
DEFAULT_STATISTIC = "max"
DEFAULT_MARGIN = 0.0
DEFAULT_GAP: float | None = None
DEFAULT_ABSOLUTE: float | None = None

_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")


def query_script(text: str) -> str:
    """``"arabic"`` when the query has at least as many Arabic letters as Latin ones (and some),
    else ``"latin"`` (digits and punctuation alone count as Latin)."""
    ar, lat = len(_ARABIC.findall(text)), len(_LATIN.findall(text))
    return "arabic" if ar and ar >= lat else "latin"


def background_texts(path: Path = BACKGROUND_FILE) -> list[str]:
    """The generic paragraphs, one a line, comments (``#``) and blank lines left out."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


def background_stats(query_vectors: np.ndarray, background: np.ndarray) -> dict[str, np.ndarray]:
    """Per query (rows of ``query_vectors``, unit length): max, mean and standard deviation of
    its cosine to the background passages."""
    q = np.atleast_2d(np.asarray(query_vectors, dtype=np.float32))
    sims = q @ np.asarray(background, dtype=np.float32).T
    return {"max": sims.max(axis=1), "mean": sims.mean(axis=1), "std": sims.std(axis=1)}


def null_threshold(stats: dict[str, np.ndarray], statistic: str, margin: float) -> np.ndarray:
    """The null-model floor per query: ``max + margin`` or ``mean + margin * std`` (z-score)."""
    if statistic == "max":
        return stats["max"] + margin
    if statistic == "z":
        return stats["mean"] + margin * stats["std"]
    raise ValueError(f"unknown background statistic {statistic!r} (max or z)")


@dataclass(frozen=True)
class Floor:
    """A semantic hit is a match when ``passes``: its cosine is at least the null-model threshold
    (when ``background`` is set), at least ``absolute`` (when set) and, given the best score of
    the query, within ``gap`` of it (when set)."""

    background: np.ndarray | None = field(default=None, repr=False, compare=False)
    statistic: str = DEFAULT_STATISTIC
    margin: float = DEFAULT_MARGIN
    absolute: float | None = DEFAULT_ABSOLUTE
    gap: float | None = DEFAULT_GAP
    model: str = CALIBRATED_MODEL

    def threshold(self, query_vector: np.ndarray) -> float:
        """The lowest cosine that counts for this query (the gap aside): -inf with no rule."""
        t = -np.inf
        if self.background is not None:
            t = float(null_threshold(background_stats(query_vector, self.background), self.statistic, self.margin)[0])
        if self.absolute is not None:
            t = max(t, self.absolute)
        return t

    def passes(self, score: float, query_vector: np.ndarray, best: float | None = None) -> bool:
        """Whether one hit of cosine ``score`` counts; ``best`` is the query's top cosine."""
        if self.gap is not None and best is not None and score < best - self.gap:
            return False
        return score >= self.threshold(query_vector)

    def mask(self, query_vector: np.ndarray, scores: Sequence[float] | np.ndarray) -> np.ndarray:
        """Which of a query's hit scores count (the gap measured from their maximum)."""
        s = np.asarray(scores, dtype=np.float64)
        if s.size == 0:
            return np.zeros(0, dtype=bool)
        keep = s >= self.threshold(query_vector)
        if self.gap is not None:
            keep &= s >= s.max() - self.gap
        return keep

    def as_dict(self) -> dict:
        """What to record with an index or a response (the background by its size)."""
        return {
            "model": self.model, "statistic": self.statistic, "margin": self.margin, "absolute": self.absolute,
            "gap": self.gap, "background": 0 if self.background is None else int(len(self.background)),
        }


def semantic_floor(query_vector: np.ndarray, scores: Sequence[float] | np.ndarray, floor: Floor) -> np.ndarray:
    """The boolean mask of ``scores`` (one query's semantic cosines) that are matches."""
    return floor.mask(query_vector, scores)


# --------------------------------------------------------------------------- background vectors
def _cache_key(embedder: object, texts: Sequence[str]) -> str:
    from archive.analysis import ANALYSIS_VERSION  # the encoder reads analysis.embedding_text
    from archive.embeddings import PASSAGE_PREFIX

    name = str(getattr(embedder, "name", "model"))
    raw = "\x00".join([name, str(getattr(embedder, "dim", "")), ANALYSIS_VERSION, PASSAGE_PREFIX, *texts])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def background_vectors(embedder: object, data_dir: Path | None = None, path: Path = BACKGROUND_FILE) -> np.ndarray:
    """The background passages embedded by ``embedder`` (``.passages``), cached once per model
    and text version under ``data_dir/models/`` (next to the materialized model): a few hundred
    short paragraphs, seconds to embed on a CPU, a few hundred KB on disk."""
    texts = background_texts(path)
    cache = None
    if data_dir is not None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", str(getattr(embedder, "name", "model")))
        cache = Path(data_dir) / "models" / f"background-{slug}-{_cache_key(embedder, texts)}.npy"
        if cache.exists():
            vecs = np.load(cache)
            if vecs.shape[0] == len(texts):
                return vecs
    vecs = np.asarray(embedder.passages(texts), dtype=np.float32)  # type: ignore[attr-defined]
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".background-", suffix=".npy", dir=cache.parent)
        os.close(fd)
        try:
            np.save(tmp, vecs)
            os.replace(tmp, cache)  # atomic: a reader never sees half a file
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return vecs


_FLOORS: dict[tuple[str, str], Floor] = {}


def default_floor(embedder: object, data_dir: Path | None = None, **overrides: object) -> Floor:
    """The calibrated floor for ``embedder``'s model, its background embedded on first use and
    kept per (model, data dir); ``overrides`` replace parameters (a configured floor). For a model
    other than ``CALIBRATED_MODEL`` the same rule applies, but uncalibrated (``model`` says so)."""
    key = (str(getattr(embedder, "name", "")), str(data_dir))
    base = _FLOORS.get(key)
    if base is None:
        base = _FLOORS[key] = Floor(background=background_vectors(embedder, data_dir), model=key[0])
    if not overrides:
        return base
    params = {**base.as_dict(), **overrides}
    params.pop("background")
    return Floor(background=base.background, **params)  # type: ignore[arg-type]
