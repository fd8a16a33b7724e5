"""Where the data lives, which model embeds it and which backend stores it: flags first, then
environment, then defaults. Credentials come from the environment only (never flags, never logs)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

# multilingual-e5-small has two encoders here, recorded under two names so that their vectors
# never mix in one index: torch fp32 (the default) and the same weights mostly in int8 on
# onnxruntime (opt-in: faster on a CPU, and measurably less accurate; README "Embeddings")
DEFAULT_MODEL = "intfloat/multilingual-e5-small"
INT8_MODEL = DEFAULT_MODEL + "+onnx-int8"
BUILTIN_MODELS = (INT8_MODEL, DEFAULT_MODEL)
DATA_DIR_ENV = "ARCHIVE_DATA_DIR"
MODEL_ENV = "ARCHIVE_MODEL"
MODEL_CACHE_ENV = "ARCHIVE_MODEL_CACHE"
# Articles per encoder call and per atomic write. The encoder sorts a call's passages by length,
# so a big call wastes little on padding: the pipeline nears the bare encoder's speed from about
# 512 (bench/throughput.py; the README has the numbers), and 512 keeps what a crash can cost small.
DEFAULT_BATCH = 512
API_ENV = "ARCHIVE_API"  # a running `serve` that search and embed ask instead of loading the model
API_KEY_ENV = "ARCHIVE_API_KEY"  # the key `serve` requires, and the key the command line sends
BACKEND_ENV = "ARCHIVE_BACKEND"
BACKENDS = ("lancedb", "elasticsearch")


def data_dir(flag: str | None = None) -> Path:
    """The data dir: ``--data-dir``, else $ARCHIVE_DATA_DIR, else ./data."""
    return Path(flag or os.environ.get(DATA_DIR_ENV) or "data")


def model_cache() -> Path:
    """Where the materialized default model lives: one copy per user and machine, shared by every
    data dir (it is the same 457 MB for all of them): $ARCHIVE_MODEL_CACHE, else
    $XDG_CACHE_HOME/arabic-news-archive/models, else ~/.cache/arabic-news-archive/models."""
    if os.environ.get(MODEL_CACHE_ENV):
        return Path(os.environ[MODEL_CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "arabic-news-archive" / "models"


class ConfigError(ValueError):
    """A configuration problem a user can fix — a job file, a flag combination, an environment
    setting — naming the file, flag or variable (the command line's exit code 2, "usage")."""


def model_name(flag: str | None = None, indexed: str | None = None) -> str:
    """The embedding model: ``--model``, else $ARCHIVE_MODEL, else the built-in encoder the index
    was embedded with (``indexed``: an index built with int8 keeps being read and updated with
    int8), else torch fp32. A full rebuild passes no ``indexed``: it builds with the default."""
    explicit = flag or os.environ.get(MODEL_ENV)
    if explicit:
        return explicit
    return indexed if indexed in BUILTIN_MODELS else DEFAULT_MODEL


def backend(flag: str | None = None) -> str:
    """``--backend``, else $ARCHIVE_BACKEND, else elasticsearch when $ES_URL is set, else lancedb."""
    chosen = flag or os.environ.get(BACKEND_ENV) or ("elasticsearch" if os.environ.get("ES_URL") else "lancedb")
    if chosen not in BACKENDS:
        raise ConfigError(f"unknown backend {chosen!r} (choose {' or '.join(BACKENDS)})")
    return chosen


def _seconds(name: str, default: float) -> float:
    """A positive number of seconds from ``$name`` (unset or empty: ``default``)."""
    raw = os.environ.get(name) or ""
    try:
        value = float(raw) if raw.strip() else default
    except ValueError:
        raise ConfigError(f"${name}: {raw!r} is not a number of seconds") from None
    if not value > 0:
        raise ConfigError(f"${name}: {raw!r} must be positive")
    return value


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


# scheme://, userinfo@ (up to the authority's last @: a password may hold a raw one), host:port, path
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?(?:(?P<userinfo>[^/?#]*)@)?(?P<host>[^/?#]*)(?P<path>[^?#]*)")


def _url_parts(url: str) -> dict[str, str]:
    """scheme, userinfo, host and path of a URL, as written (every part optional: any string splits)."""
    m = _URL.match(url)
    return {k: v or "" for k, v in m.groupdict().items()} if m else {}


@dataclass(frozen=True)
class ESSettings:
    """How to reach the Elasticsearch index. Secrets are kept out of ``repr`` and messages."""

    url: str = "http://localhost:9200"
    index: str = "news"  # the alias readers and writers use; physical indices are <index>-v<N>
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    verify_certs: bool = True
    timeout: float = 30.0
    bulk_timeout: float = 120.0  # bulk writes build HNSW graphs: the kNN docs advise a longer timeout
    server_rrf: bool = False  # hybrid via the server's rrf retriever (needs an Enterprise licence)
    lock_ttl: float = 60.0  # lease of a job's write lock; a killed job's lock frees after this

    @staticmethod
    def from_env(**flags: Any) -> ESSettings:
        """$ES_URL, $ES_INDEX, $ES_API_KEY, $ES_USERNAME/$ES_PASSWORD, $ES_CA_CERTS,
        $ES_VERIFY_CERTS, $ES_TIMEOUT, $ES_BULK_TIMEOUT, $ES_SERVER_RRF, $ES_LOCK_TTL; non-secret ``flags`` (not None) win."""
        env = os.environ
        s = ESSettings(
            url=env.get("ES_URL") or ESSettings.url,
            index=env.get("ES_INDEX") or ESSettings.index,
            api_key=env.get("ES_API_KEY") or None,
            username=env.get("ES_USERNAME") or None,
            password=env.get("ES_PASSWORD") or None,
            ca_certs=env.get("ES_CA_CERTS") or None,
            verify_certs=env.get("ES_VERIFY_CERTS", "").strip().lower() not in ("0", "false", "no", "off"),
            timeout=_seconds("ES_TIMEOUT", ESSettings.timeout),
            bulk_timeout=_seconds("ES_BULK_TIMEOUT", ESSettings.bulk_timeout),
            server_rrf=_flag(env.get("ES_SERVER_RRF")),
            lock_ttl=_seconds("ES_LOCK_TTL", ESSettings.lock_ttl),
        )
        return replace(s, **{k: v for k, v in flags.items() if v is not None})

    def __repr__(self) -> str:
        """The fields with ``url`` as ``safe_url``: a password in the URL is a secret too."""
        shown = ", ".join(
            f"{f.name}={self.safe_url if f.name == 'url' else getattr(self, f.name)!r}" for f in fields(self) if f.repr
        )
        return f"ESSettings({shown})"

    @property
    def safe_url(self) -> str:
        """The URL without any user:password@ part or query, host and port as written (IPv6
        brackets kept; an impossible port is the client's to refuse, not a crash here)."""
        parts = _url_parts(self.url)
        return parts["scheme"] + parts["host"] + parts["path"]

    def secrets(self) -> list[str]:
        """Every secret value, so messages can be scrubbed of them (a URL password also as decoded)."""
        url_password = _url_parts(self.url)["userinfo"].partition(":")[2]
        return [s for s in dict.fromkeys((self.api_key, self.password, url_password, unquote(url_password))) if s]
