"""Elasticsearch: the scale-out store (docs/architecture.md decisions 2, 3, 6, 7).

One document per article, passages as ``nested`` objects with their vectors, so an article's
text and vectors are written (and replaced) together in one atomic document write. Readers and
writers use an alias (``news``) over versioned physical indices (``news-v1``, ``news-v2``, …)
created from ``mappings/news.json`` as it is: a full rebuild fills a new generation and swaps the
alias atomically; the previous generation stays for ``rollback``. Companion indices:
``<generation>-vocab`` lists the distinct exact terms, so ``prefix*`` expands to the same terms as
on the embedded store, and the marked stems hybrid search looks up; ``<alias>-jobs`` holds the job lock
(a document with a lease) and history.

Keyword queries use only ``term`` and ``match_phrase`` on the whitespace-analyzed
fields written by ``archive.analysis``, never ES's own Arabic analysis, so both backends rank
the same terms; fusion and highlighting happen in ``archive.search`` for every backend.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from archive import stories
from archive.config import ESSettings
from archive.model import Article
from archive.query import Node
from archive.store.base import (
    SCHEMA_VERSION,
    SWITCHED,
    Background,
    Filters,
    Fingerprint,
    Generation,
    IndexedArticle,
    KeywordHit,
    PartialWrite,
    SemanticHit,
    StoreEmpty,
    StoreError,
    StoreInfo,
    StoreLocked,
    Tally,
    day_after,
    mark_interrupted,
    require_compatible,
    switched_meta,
)
from archive.store.walk import build

MAPPING_FILE = Path(__file__).resolve().parents[2] / "mappings" / "news.json"
ARTICLE_FIELDS = ["id", "title", "body", "published_at", "source", "url", "path", "content_hash", "story"]
PASSAGE_FIELDS = ["passages.n", "passages.start", "passages.end"]
BULK_SETTINGS = {"refresh_interval": "-1", "number_of_replicas": 0}  # during a full load
MIN_VERSION = (8, 12, 1)  # nested int8_hnsw vectors; 8.12.0's int8_hnsw may stop merging (docs/elasticsearch.md)
SERVER_RRF_VERSION = (8, 15, 0)  # the rrf retriever's rank_window_size (8.14 calls it window_size)
MAX_ID_BYTES = 512  # Elasticsearch's _id limit
BULK_ATTEMPTS = 6  # sends of a bulk request that gets no answer (the client never re-sends a timed-out one)
MAX_CANDIDATES = 10_000  # Elasticsearch's num_candidates limit
FUZZY_CANDIDATES = 1_000  # a fuzzy query's max_expansions: each is a clause (max_clause_count is 1,024 at its lowest)
VOCAB = "-vocab"  # <generation>-vocab: one doc per exact term (prefix* expansion) and marked stem
VOCAB_MAPPING = {"dynamic": "strict", "properties": {"term": {"type": "keyword"}}}
JOBS = "-jobs"  # <alias>-jobs: the write lock (a document with a lease) and the job history
JOBS_MAPPING = {
    "dynamic": False,
    "properties": {"kind": {"type": "keyword"}, "started": {"type": "date"}, "status": {"type": "keyword"}},
}


def mapping_digest() -> str:
    """A digest of ``mappings/news.json``: an index built from another version needs a rebuild."""
    import hashlib

    return hashlib.sha256(MAPPING_FILE.read_bytes()).hexdigest()[:16]


def load_mapping(model: str, dim: int, analysis_version: str) -> dict:
    """``mappings/news.json`` with the model's name, dimension, analysis version and the file's
    own digest filled in."""
    text = MAPPING_FILE.read_text(encoding="utf-8")
    text = text.replace('"{{dims}}"', str(int(dim))).replace("{{mapping_digest}}", mapping_digest())
    text = text.replace("{{model}}", json.dumps(model)[1:-1]).replace("{{analysis_version}}", analysis_version)
    body = json.loads(text)
    body.pop("_comment", None)
    return body


def _fits_id(value: str) -> bool:
    """Whether ``value`` can be an ES ``_id`` as it is (at most 512 bytes of UTF-8)."""
    return len(value.encode("utf-8")) <= MAX_ID_BYTES


def doc_id(article_id: str) -> str:
    """The ES ``_id`` of an article: its id, or a digest when the id is over ES's 512 bytes."""
    if _fits_id(article_id):
        return article_id
    import hashlib

    return "sha256:" + hashlib.sha256(article_id.encode("utf-8")).hexdigest()


def _date(value: dt.date) -> str:
    return value.isoformat()


def filter_clauses(filters: Filters) -> list[dict]:
    """The filters as ES ``filter`` clauses on top-level fields (valid inside nested ``knn`` too)."""
    out: list[dict] = []
    if filters.ids:
        out.append({"terms": {"id": list(filters.ids)}})
    if filters.sources:
        out.append({"terms": {"source": list(filters.sources)}})
    if filters.date_from or filters.date_to:
        rng: dict[str, str] = {"format": "strict_date_optional_time"}
        if filters.date_from:
            rng["gte"] = _date(filters.date_from)
        if filters.date_to:
            rng["lt"] = _date(day_after(filters.date_to))
        out.append({"range": {"published_at": rng}})
    return out


class _ElasticBuilder:
    """Elasticsearch query DSL for ``walk.build``, on the pre-analyzed term fields."""

    def match(self, column: str, terms: Sequence[str], boost: float = 1.0) -> dict:
        each = [{"term": {column: t if boost == 1.0 else {"value": t, "boost": boost}}} for t in terms]
        return each[0] if len(each) == 1 else {"bool": {"should": each, "minimum_should_match": 1}}

    def phrase(self, column: str, terms: Sequence[str], slop: int) -> dict:
        if not slop:
            return {"match_phrase": {column: " ".join(terms)}}  # the field's own analyzer, as indexed
        # in order (match_phrase's slop would also let the two swap places)
        return {"span_near": {"clauses": [{"span_term": {column: t}} for t in terms], "slop": slop, "in_order": True}}

    def boolean(self, must: Sequence[dict], should: Sequence[dict], must_not: Sequence[dict]) -> dict:
        body: dict[str, Any] = {}
        for key, part in (("must", must), ("should", should), ("must_not", must_not)):
            if part:
                body[key] = list(part)
        if should:
            body["minimum_should_match"] = 0 if must else 1
        return {"bool": body}


_ELASTIC = _ElasticBuilder()


def build_query(tree: Node | None, filters: Filters) -> dict | None:
    """The ES query for an expanded query tree under the filters (the same walk as the embedded
    store's full-text query); None when nothing can match."""
    q = build(tree, _ELASTIC) if tree is not None else None
    if q is None:
        return None
    return {"bool": {"filter": filter_clauses(filters), "must": [q]}}


class ElasticStore:
    """The Elasticsearch store. ``target`` is the alias, or a physical index while it is rebuilt."""

    backend = "elasticsearch"

    def __init__(self, settings: ESSettings, read_only: bool = False, client: Any = None, target: str | None = None) -> None:
        self.settings = settings
        self.alias = settings.index
        self.target = target or settings.index
        self.read_only = read_only
        self.server_rrf = settings.server_rrf
        self.warnings: list[str] = []  # what every hybrid search on this store should say
        self.es = client or self._connect()
        self._vocab_seen: set[str] = set()
        self._unrefreshed = False  # written since the last refresh (fingerprints must see every write)
        if read_only and self._physical() is None:
            raise StoreEmpty(f"no index {self.alias!r} on {settings.safe_url}: run the indexer first")

    # ------------------------------------------------------------------ connection and errors
    def _connect(self) -> Any:
        from elasticsearch import Elasticsearch

        s = self.settings
        kwargs: dict[str, Any] = dict(
            request_timeout=s.timeout,
            max_retries=5,
            retry_on_timeout=True,
            retry_on_status=(429, 502, 503, 504),
            verify_certs=s.verify_certs,
        )
        if s.ca_certs:
            kwargs["ca_certs"] = s.ca_certs
        if s.api_key:
            kwargs["api_key"] = s.api_key
        elif s.username:
            kwargs["basic_auth"] = (s.username, s.password or "")
        if not s.verify_certs:
            kwargs["ssl_show_warn"] = False
        try:
            client = Elasticsearch(s.url, **kwargs)
        except Exception as exc:  # bad URL or certificate file
            raise StoreError(self._scrub(f"cannot configure the Elasticsearch client for {s.safe_url}: {exc}")) from None
        with self._errors("connect"):
            version = client.info()["version"]["number"]
        nums = tuple(int(x) for x in re.findall(r"\d+", version)[:3])
        if nums[:2] == (8, 12) and nums < MIN_VERSION:
            raise StoreError(
                f"Elasticsearch {version} at {s.safe_url} is not supported: its int8_hnsw vectors may fail to "
                "merge segments once documents are replaced, which stops indexing (fixed in 8.12.1)"
            )
        if nums < MIN_VERSION or nums[0] > 9:
            raise StoreError(f"Elasticsearch {version} at {s.safe_url} is not supported: this client talks to 8.12.1 … 9.x")
        if self.server_rrf and nums < SERVER_RRF_VERSION:
            self.server_rrf = False
            self.warnings.append(
                f"server-side fusion needs Elasticsearch 8.15 or later (this cluster runs {version}): "
                "results were fused client-side"
            )
        return client

    def _scrub(self, text: str) -> str:
        for secret in self.settings.secrets():
            text = text.replace(secret, "***")
        return text

    @contextmanager
    def _errors(self, action: str, bulk: bool = False) -> Iterator[None]:
        """Turn client exceptions into ``StoreError`` messages a user can act on, free of secrets
        (``bulk``: the request ran under the bulk timeout)."""
        from elastic_transport import ConnectionError as TransportConnectionError
        from elastic_transport import ConnectionTimeout
        from elasticsearch import (
            ApiError,
            AuthenticationException,
            AuthorizationException,
            NotFoundError,
            UnsupportedProductError,
        )

        url = self.settings.safe_url
        try:
            yield
        except AuthenticationException:
            raise StoreError(
                f"Elasticsearch at {url} refused the credentials (401) while trying to {action}: "
                "set ES_API_KEY, or ES_USERNAME and ES_PASSWORD"
            ) from None
        except AuthorizationException as exc:
            raise StoreError(
                self._scrub(f"the Elasticsearch credentials may not {action} on {self.target!r} (403): {_reason(exc)}")
            ) from None
        except NotFoundError as exc:
            if _error_type(exc) == "index_not_found_exception":
                raise StoreEmpty(f"no index {self.target!r} on {url}: run the indexer first") from None
            raise StoreError(self._scrub(f"Elasticsearch could not {action}: {_reason(exc)}")) from None
        except UnsupportedProductError:
            raise StoreError(f"{url} did not answer as Elasticsearch (or its version is unsupported)") from None
        except ConnectionTimeout:
            timeout, env = (self.settings.bulk_timeout, "ES_BULK_TIMEOUT") if bulk else (self.settings.timeout, "ES_TIMEOUT")
            raise StoreError(
                f"Elasticsearch at {url} timed out while trying to {action} (timeout {timeout:g}s; set {env})"
            ) from None
        except TransportConnectionError as exc:
            raise StoreError(self._scrub(f"cannot reach Elasticsearch at {url} to {action}: {exc.message}")) from None
        except ApiError as exc:
            raise StoreError(self._scrub(f"Elasticsearch could not {action} ({exc.meta.status}): {_reason(exc)}")) from None

    def _write_guard(self) -> None:
        if self.read_only:
            raise StoreError("this store was opened read-only")

    # ------------------------------------------------------------------ index lifecycle
    def _alias_indices(self) -> list[str]:
        with self._errors("read the alias"):
            found = self.es.options(ignore_status=404).indices.get_alias(name=self.alias)
        return sorted(k for k, v in dict(found).items() if isinstance(v, dict) and self.alias in v.get("aliases", {}))

    def _physical(self) -> str | None:
        """The physical index behind ``target`` (None when it does not exist yet)."""
        if self.target != self.alias:
            return self.target
        names = self._alias_indices()
        return names[-1] if names else None

    def _meta_of(self, index: str) -> dict:
        with self._errors("read the index metadata"):
            m = self.es.indices.get_mapping(index=index)
        return dict(m[index]["mappings"].get("_meta", {}))

    def meta(self) -> dict:
        index = self._physical()
        return self._meta_of(index) if index else {}

    def generations(self) -> list[Generation]:
        """Every physical index of this alias, oldest first."""
        with self._errors("list the index generations"):
            found = dict(self.es.options(ignore_status=404).indices.get(index=f"{self.alias}-v*", allow_no_indices=True))
        out = []
        for name, body in found.items():
            m = re.fullmatch(re.escape(self.alias) + r"-v(\d+)", name)
            if not m or not isinstance(body, dict):
                continue
            with self._errors("count a generation"):
                n = int(self.es.count(index=name)["count"])
            out.append(
                Generation(
                    name,
                    int(m.group(1)),
                    self.alias in body.get("aliases", {}),
                    n,
                    dict(body.get("mappings", {}).get("_meta", {})),
                )
            )
        return sorted(out, key=lambda g: g.number)

    def _create(self, name: str, model: str, dim: int, analysis_version: str, bulk: bool, alias: bool) -> None:
        body = load_mapping(model, dim, analysis_version)
        if alias:  # readers use it from the start
            body["mappings"]["_meta"] = dict(body["mappings"].get("_meta", {}), **switched_meta())
        settings = dict(body["settings"], **(BULK_SETTINGS if bulk else {}))
        with self._errors(f"create index {name}"):
            self.es.indices.create(index=name + VOCAB, settings={"number_of_shards": 1}, mappings=VOCAB_MAPPING)
            self.es.indices.create(
                index=name,
                settings=settings,
                mappings=body["mappings"],
                aliases={self.alias: {"is_write_index": True}} if alias else None,
            )

    def check_compatible(self, model: str, dim: int, analysis_version: str) -> None:
        """Create ``<alias>-v1`` behind the alias on first use; refuse an index built otherwise."""
        wanted = {
            "model": model,
            "dim": dim,
            "analysis_version": analysis_version,
            "schema_version": SCHEMA_VERSION,
            "mapping_digest": mapping_digest(),
        }
        index = self._physical()
        if index is None:
            if self.read_only:
                raise StoreEmpty(f"no index {self.alias!r} on {self.settings.safe_url}: run the indexer first")
            self._create(f"{self.alias}-v{self._next_number()}", model, dim, analysis_version, bulk=False, alias=True)
            return
        meta = self._meta_of(index)
        require_compatible(
            meta,
            wanted,
            f"the Elasticsearch index {index!r}",
            "run a full rebuild (it creates a new generation and switches the alias)",
        )

    def _next_number(self) -> int:
        return max((g.number for g in self.generations()), default=0) + 1

    def new_generation(self, model: str, dim: int, analysis_version: str) -> ElasticStore:
        """A store writing into a fresh physical index (bulk settings, not yet behind the alias):
        readers keep using the current generation until ``activate``."""
        self._write_guard()
        name = f"{self.alias}-v{self._next_number()}"
        self._create(name, model, dim, analysis_version, bulk=True, alias=False)
        return ElasticStore(replace(self.settings, server_rrf=self.server_rrf), client=self.es, target=name)

    def activate(self, name: str) -> None:
        """Restore normal settings on ``name``, then swap the alias to it in one atomic call."""
        self._write_guard()
        normal = load_mapping("", 1, "")["settings"]
        with self._errors(f"switch the alias {self.alias!r} to {name}"):
            self.es.indices.put_settings(
                index=name,
                settings={
                    "refresh_interval": normal.get("refresh_interval", "1s"),
                    "number_of_replicas": normal.get("number_of_replicas", 1),
                },
            )
            self.es.indices.refresh(index=[name, name + VOCAB])
            current = [i for i in self._alias_indices() if i != name]
            for index in [name, *current]:  # the outgoing ones too: readers saw them whole
                self._mark_switched(index)
            actions: list[dict] = [{"remove": {"index": i, "alias": self.alias, "must_exist": True}} for i in current]
            actions.append({"add": {"index": name, "alias": self.alias, "is_write_index": True}})
            self.es.indices.update_aliases(actions=actions)

    def _mark_switched(self, index: str) -> None:
        """Record in ``index``'s mapping ``_meta`` that readers are switched to it (once)."""
        meta = self._meta_of(index)
        if SWITCHED not in meta:
            self.es.indices.put_mapping(index=index, meta=dict(meta, **switched_meta()))

    def drop(self, name: str) -> None:
        """Delete one inactive generation."""
        self._write_guard()
        if name in self._alias_indices():
            raise StoreError(f"{name} is the active generation of {self.alias!r}; switch first")
        with self._errors(f"delete {name}"):
            self.es.indices.delete(index=[name, name + VOCAB], ignore_unavailable=True)

    # ------------------------------------------------------------------ lock and job history
    def _jobs_index(self) -> str:
        name = self.alias + JOBS
        with self._errors("open the job history"):
            if not self.es.options(ignore_status=404).indices.exists(index=name):
                self.es.options(ignore_status=400).indices.create(  # 400: created meanwhile
                    index=name, settings={"number_of_shards": 1}, mappings=JOBS_MAPPING
                )
        return name

    @contextmanager
    def lock(self, job_id: str) -> Iterator[None]:
        """A lock document with a lease, renewed while the job runs: a job killed with -9 stops
        renewing, and the next job takes the lock over once the lease has expired. Lock calls
        are never retried by the client (a retried write collides with its own first try); a
        write whose answer was lost is recognised by the holder's token and adopted."""
        from elastic_transport import TransportError
        from elasticsearch import ConflictError

        self._write_guard()
        index, ttl = self._jobs_index(), self.settings.lock_ttl
        es = self.es.options(max_retries=0)
        holder = {
            "kind": "lock",
            "job": job_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "token": uuid.uuid4().hex,
        }

        def write(**cond: Any) -> dict[str, int]:
            """Write the lock with a fresh lease under ``cond``; its new version. A lost answer
            counts as written when the stored lock is ours."""
            try:
                r = es.index(index=index, id="lock", document=dict(holder, expires=time.time() + ttl), **cond)
                return {"seq_no": r["_seq_no"], "term": r["_primary_term"]}
            except TransportError:
                mine = ours()
                if mine is None:
                    raise
                return mine

        def ours() -> dict[str, int] | None:
            """The stored lock's version when it is this job's."""
            cur = es.options(ignore_status=404).get(index=index, id="lock")
            if cur.get("found") and cur["_source"].get("token") == holder["token"]:
                return {"seq_no": cur["_seq_no"], "term": cur["_primary_term"]}
            return None

        with self._errors("take the job lock"):
            try:
                state = write(op_type="create", refresh=True)
            except ConflictError:
                cur = es.get(index=index, id="lock")
                src = cur["_source"]
                if float(src.get("expires", 0)) > time.time():
                    raise StoreLocked(
                        f"another job is writing to {self.alias!r} (job {src.get('job')} on "
                        f"{src.get('host')}, pid {src.get('pid')}, since {src.get('since')})"
                    ) from None
                try:  # the holder's lease ran out (it died): take over, unless someone else just did
                    state = write(if_seq_no=cur["_seq_no"], if_primary_term=cur["_primary_term"], refresh=True)
                except ConflictError:
                    raise StoreLocked(f"another job just took the lock on {self.alias!r}") from None
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(ttl / 3):
                try:
                    try:
                        state.update(write(if_seq_no=state["seq_no"], if_primary_term=state["term"]))
                    except ConflictError:  # an earlier renewal was written but its answer lost
                        mine = ours()
                        if mine is None:
                            return  # another job holds the lock now: renewing would take it from them
                        state.update(mine)
                        state.update(write(if_seq_no=state["seq_no"], if_primary_term=state["term"]))
                except Exception:  # noqa: BLE001 - a missed renewal is retried at the next tick
                    continue

        keeper = threading.Thread(target=renew, daemon=True, name="es-lock-lease")
        keeper.start()
        done = False
        try:
            yield
            done = True
        finally:
            stop.set()
            keeper.join()
            try:
                with self._errors("release the job lock"):
                    es.options(ignore_status=(404, 409)).delete(
                        index=index, id="lock", if_seq_no=state["seq_no"], if_primary_term=state["term"], refresh=True
                    )
            except StoreError:
                if done:  # a job that failed already says why; its lease lapses by itself
                    raise

    def _lock_live(self) -> bool:
        doc = self.es.options(ignore_status=404).get(index=self.alias + JOBS, id="lock")
        return bool(doc.get("found")) and float(doc["_source"].get("expires", 0)) > time.time()

    def record_job(self, record: dict) -> None:
        self._write_guard()
        with self._errors("record the job"):
            self.es.index(
                index=self._jobs_index(),
                id=str(record["id"]),
                document=json.loads(json.dumps(dict(record, kind="job"), default=str)),
                refresh=True,
            )

    def jobs(self, limit: int) -> list[dict]:
        with self._errors("read the job history"):
            res = self.es.options(ignore_status=404).search(
                index=self.alias + JOBS, query={"term": {"kind": "job"}}, sort=[{"started": "desc"}], size=limit
            )
            if res.meta.status == 404:
                return []
            out = [{k: v for k, v in h["_source"].items() if k != "kind"} for h in res["hits"]["hits"]]
        return mark_interrupted(out, self._lock_live)

    # ------------------------------------------------------------------ writes
    @staticmethod
    def _document(item: IndexedArticle) -> dict:
        a = item.article
        vecs = np.asarray(item.vectors, dtype=np.float32)
        centroid = vecs.mean(axis=0) if len(vecs) else np.zeros(0, dtype=np.float32)
        norm = float(np.linalg.norm(centroid)) if len(centroid) else 0.0
        if norm:
            centroid = centroid / norm
        return {
            "id": a.id,
            "title": a.title,
            "body": a.body,
            "published_at": a.published_at.isoformat() if a.published_at else None,
            "year": a.published_at.year if a.published_at else None,
            "source": a.source,
            "url": a.url,
            "path": a.path,
            "content_hash": a.content_hash,
            "stem": item.stem,
            "exact": item.exact,
            "title_stem": item.title_stem,
            "story": item.story or a.id,
            "bands": stories.bands(item.signature),
            "signature": base64.b64encode(item.signature.astype("<u4").tobytes()).decode("ascii")
            if item.signature is not None
            else None,
            "n_passages": len(item.passages),
            "indexed_at": dt.datetime.now(dt.UTC).isoformat(),
            "centroid": base64.b64encode(centroid.astype("<f4").tobytes()).decode("ascii"),
            "passages": [
                {"n": p.n, "start": p.start, "end": p.end, "text": p.text, "vector": [float(x) for x in v]}
                for p, v in zip(item.passages, vecs, strict=False)
            ],
        }

    def _bulk(self, actions: list[dict], what: str) -> dict[str, dict]:
        """Run bulk actions under the bulk timeout; return the failed items by ``_id``. 429s are
        retried per item with backoff and dropped connections by the client; a timeout never is
        (a slow cluster would get the same bulk again at once). Once the client gives up, the
        actions not answered yet are sent again (every action is idempotent), up to
        ``BULK_ATTEMPTS`` times in a row without an answer: a slow bulk goes 6 times, not 36."""
        from elastic_transport import ConnectionError as TransportConnectionError
        from elastic_transport import ConnectionTimeout
        from elasticsearch.helpers import streaming_bulk

        client = self.es.options(request_timeout=self.settings.bulk_timeout, retry_on_timeout=False)
        failed: dict[str, dict] = {}
        answered: set[str] = set()
        attempt = 0
        with self._errors(what, bulk=True):
            while True:
                try:
                    for ok, item in streaming_bulk(
                        client,
                        [a for a in actions if a["_id"] not in answered],
                        chunk_size=200,
                        max_chunk_bytes=50 * 2**20,
                        raise_on_error=False,
                        raise_on_exception=False,
                        max_retries=8,
                        initial_backoff=0.5,
                        max_backoff=10,
                    ):
                        op = next(iter(item.values()))
                        answered.add(str(op.get("_id")))
                        attempt = 0
                        if not ok:
                            failed[str(op.get("_id"))] = op
                    return failed
                except (TransportConnectionError, ConnectionTimeout):
                    attempt += 1
                    if attempt == BULK_ATTEMPTS:
                        raise
                    time.sleep(min(10.0, 0.5 * 2 ** (attempt - 1)))

    def upsert(self, batch: Sequence[IndexedArticle]) -> None:
        """Index whole documents under idempotent ids; raise ``PartialWrite`` naming the articles
        that still failed after retries (the others are written)."""
        self._write_guard()
        if not batch:
            return
        vocab_error = self._add_vocab({t for i in batch for t in i.vocabulary()})
        if vocab_error:  # write no article whose terms prefix* could not reach
            raise PartialWrite({i.article.id: f"terms not recorded: {vocab_error}" for i in batch})
        ids = {doc_id(i.article.id): i.article.id for i in batch}
        actions = [
            {"_op_type": "index", "_index": self.target, "_id": doc_id(i.article.id), "_source": self._document(i)} for i in batch
        ]
        self._unrefreshed = True
        failed = self._bulk(actions, "write articles")
        if failed:
            raise PartialWrite({ids.get(k, k): _item_reason(v) for k, v in failed.items()})

    def _add_vocab(self, terms: set[str]) -> str | None:
        """Record new exact terms before the articles that use them (a crash leaves at most
        unused terms, never an indexed term prefix* cannot reach); the first failure, if any."""
        new = sorted(t for t in terms - self._vocab_seen if _fits_id(t))
        if not new:
            return None
        index = (self._physical() or self.target) + VOCAB
        actions = [{"_op_type": "create", "_index": index, "_id": t, "_source": {"term": t}} for t in new]
        failed = [v for v in self._bulk(actions, "record terms").values() if v.get("status") != 409]  # 409: known
        if failed:
            return _item_reason(failed[0])
        self._vocab_seen.update(new)
        return None

    def known_terms(self, terms: Sequence[str]) -> set[str]:
        index = self._physical()
        ids = [t for t in terms if _fits_id(t)]  # a longer term is never recorded (_add_vocab)
        if index is None or not ids:
            return set()
        with self._errors("look up query terms"):
            found = self.es.mget(index=index + VOCAB, ids=ids, source=False)["docs"]
        return {d["_id"] for d in found if d.get("found")}

    def expand(self, prefix: str, limit: int) -> list[str]:
        index = self._physical()
        if not prefix or index is None:
            return []
        res = self._search(
            "expand a prefix",
            index=index + VOCAB,
            query={"prefix": {"term": prefix}},
            sort=[{"term": "asc"}],
            size=min(limit, MAX_CANDIDATES),
            source=False,
        )
        return [h["_id"] for h in res["hits"]["hits"]]

    def near(self, entry: str, distance: int, limit: int) -> list[str]:
        """Lucene's own fuzzy expansion over the vocabulary index (Damerau distance <= 2)."""
        index = self._physical()
        if not entry or index is None:
            return []
        size = min(limit, FUZZY_CANDIDATES)
        res = self._search(
            "expand a fuzzy word",
            index=index + VOCAB,
            size=size,
            source=False,
            query={
                "fuzzy": {"term": {"value": entry, "fuzziness": min(distance, 2), "transpositions": True, "max_expansions": size}}
            },
        )
        return [h["_id"] for h in res["hits"]["hits"]]

    def delete(self, ids: Sequence[str]) -> int:
        self._write_guard()
        if not ids:
            return 0
        with self._errors("look up articles to delete"):  # existence only: no article text fetched
            found = self.es.mget(index=self.target, ids=[doc_id(i) for i in ids], source=False)["docs"]
        existing = [d["_id"] for d in found if d.get("found")]
        actions = [{"_op_type": "delete", "_index": self.target, "_id": i} for i in existing]
        failed = {k: v for k, v in self._bulk(actions, "delete articles").items() if v.get("status") != 404}
        if failed:
            raise PartialWrite({k: _item_reason(v) for k, v in failed.items()})
        return len(existing)

    def optimize(self) -> None:
        """Make what was written visible to searches now (also ends a run's writes)."""
        index = self._physical() or self.target
        with self._errors("refresh the index"):
            self.es.indices.refresh(index=[index, index + VOCAB])

    # ------------------------------------------------------------------ reads
    def _search(self, what: str, index: str | None = None, **body: Any) -> dict:
        """A search; an index that does not exist yet answers with no hits (no extra round trip
        to check first: this is every query's path)."""
        with self._errors(what):
            return dict(self.es.search(index=index or self.target, ignore_unavailable=True, allow_no_indices=True, **body))

    def get(self, ids: Sequence[str], text: bool = True) -> dict[str, Article]:
        if not ids:
            return {}
        fields = ARTICLE_FIELDS if text else [f for f in ARTICLE_FIELDS if f not in ("title", "body")]
        with self._errors("fetch articles"):
            found = self.es.mget(index=self.target, ids=[doc_id(i) for i in ids], source=fields)
        out = {}
        for d in found["docs"]:
            if d.get("found"):
                s = d["_source"]
                out[s["id"]] = Article(
                    s["id"],
                    s.get("title") or "",
                    s.get("body") or "",
                    _parse_date(s.get("published_at")),
                    s.get("source") or "",
                    s.get("url") or "",
                    s.get("path") or "",
                    s.get("content_hash") or "",
                    s.get("story") or "",
                )
        return out

    def hashes(self) -> dict[str, tuple[str, str]]:
        from elasticsearch.helpers import scan

        if self._physical() is None:
            return {}
        out = {}
        with self._errors("read the stored content hashes"):
            for d in scan(
                self.es, index=self.target, query={"query": {"match_all": {}}}, _source=["id", "content_hash", "path"], size=1000
            ):
                s = d["_source"]
                out[s["id"]] = (s.get("content_hash") or "", s.get("path") or "")
        return out

    def keyword(self, tree: Node | None, filters: Filters, limit: int) -> list[KeywordHit]:
        q = build_query(tree, filters)
        if q is None:
            return []
        res = self._search("search", query=q, size=limit, source=["id"], track_total_hits=False)
        return [KeywordHit(h["_source"]["id"], float(h["_score"])) for h in res["hits"]["hits"]]

    def ranked(self, tree: Node | None, filters: Filters, limit: int) -> tuple[list[KeywordHit], Tally]:
        q = build_query(tree, filters)
        if q is None:
            return [], Tally()
        res = self._search("search", query=q, size=limit, source=["id"], track_total_hits=True, aggs=_TALLY_AGGS)
        return [KeywordHit(h["_source"]["id"], float(h["_score"])) for h in res["hits"]["hits"]], _tally(res)

    def tally(self, tree: Node | None, filters: Filters) -> Tally:
        q = build_query(tree, filters) if tree is not None else {"bool": {"filter": filter_clauses(filters)}}
        if q is None:
            return Tally()
        return _tally(self._search("count matches", query=q, size=0, track_total_hits=True, aggs=_TALLY_AGGS))

    def fingerprints(self, bands: Sequence[str]) -> list[Fingerprint]:
        """A terms query on ``bands``, after a refresh when this store has written since the
        last one (a bulk load does not refresh by itself)."""
        if not bands:
            return []
        if self._unrefreshed:
            with self._errors("refresh the index"):
                self.es.indices.refresh(index=self.target)
            self._unrefreshed = False
        from elasticsearch.helpers import scan

        found: dict[str, Fingerprint] = {}
        for i in range(0, len(bands), 10_000):
            query = {"query": {"terms": {"bands": list(bands[i : i + 10_000])}}}
            with self._errors("look up earlier versions"):  # every candidate, past the 10,000 a search returns
                hits = list(scan(self.es, index=self.target, query=query, _source=["id", "story", "signature"], size=1000))
            for h in hits:
                s = h["_source"]
                if s.get("signature"):
                    found[s["id"]] = Fingerprint(
                        s["id"], s.get("story") or s["id"], np.frombuffer(base64.b64decode(s["signature"]), dtype="<u4")
                    )
        return list(found.values())

    def stems(self, ids: Sequence[str]) -> dict[str, set[str]]:
        """From the stored term vectors of ``stem`` (the field is not in ``_source``)."""
        out: dict[str, set[str]] = {}
        for i in range(0, len(ids), 500):
            by_doc = {doc_id(a): a for a in ids[i : i + 500]}
            with self._errors("read the terms of articles"):
                res = self.es.mtermvectors(
                    index=self.target,
                    ids=list(by_doc),
                    fields=["stem"],
                    positions=False,
                    offsets=False,
                    payloads=False,
                    term_statistics=False,
                    field_statistics=False,
                )
            for d in res["docs"]:
                if d.get("found") and d["_id"] in by_doc:
                    out[by_doc[d["_id"]]] = set(d.get("term_vectors", {}).get("stem", {}).get("terms", {}))
        if out and not any(out.values()):  # an index mapped before stem kept term vectors answers with none
            raise StoreError(
                f"the index {self.target!r} stores no term vectors for stem (built before schema 3): "
                "run a full rebuild (reindex --full) for top terms"
            )
        return out

    def frequencies(self, stems: Sequence[str]) -> Background:
        """Exact: a ``filters`` aggregation (one bucket per stem) over the whole index."""
        counts: dict[str, int] = {}
        articles = 0
        for i in range(0, max(1, len(stems)), 500):
            part = list(stems[i : i + 500])
            aggs = {"df": {"filters": {"filters": {str(k): {"term": {"stem": t}} for k, t in enumerate(part)}}}} if part else None
            res = self._search("count articles per term", size=0, track_total_hits=True, aggs=aggs)
            articles = int(res["hits"]["total"]["value"])
            buckets = (res.get("aggregations") or {}).get("df", {}).get("buckets", {})
            counts.update((t, int(buckets.get(str(k), {}).get("doc_count", 0))) for k, t in enumerate(part))
        return Background(counts, articles, articles)

    def _knn(self, vector: np.ndarray, filters: list[dict], limit: int) -> list[SemanticHit]:
        if limit <= 0:
            return []
        knn = {
            "field": "passages.vector",
            "query_vector": [float(x) for x in vector],
            "k": limit,
            "num_candidates": min(MAX_CANDIDATES, max(100, 2 * limit)),
            "inner_hits": {"size": 1, "_source": False, "fields": PASSAGE_FIELDS},
        }
        if filters:
            knn["filter"] = filters
        res = self._search("run a vector search", knn=knn, size=limit, source=["id", "content_hash"])
        hits = []
        for h in res["hits"]["hits"]:
            inner = h["inner_hits"]["passages"]["hits"]["hits"][0]
            n, start, end = _passage(inner)
            hits.append(
                SemanticHit(
                    h["_source"]["id"], 2.0 * float(inner["_score"]) - 1.0, h["_source"].get("content_hash") or "", n, start, end
                )
            )
        return hits

    def semantic(self, vector: np.ndarray, filters: Filters, limit: int) -> list[SemanticHit]:
        """Nested kNN over passage vectors; ES's cosine score (1 + cos) / 2 is turned back into cos."""
        return self._knn(vector, filter_clauses(filters), limit)

    def neighbours(self, article_id: str, limit: int) -> list[SemanticHit]:
        with self._errors("fetch an article"):
            doc = self.es.options(ignore_status=404).get(index=self.target, id=doc_id(article_id), source=["centroid"])
        raw = doc.get("_source", {}).get("centroid") if doc.get("found") else None
        if not raw:
            return []
        centroid = np.frombuffer(base64.b64decode(raw), dtype="<f4")
        return self._knn(centroid, [{"bool": {"must_not": [{"term": {"id": article_id}}]}}], limit)

    def browse(self, filters: Filters, limit: int) -> list[str]:
        res = self._search(
            "list articles",
            query={"bool": {"filter": filter_clauses(filters)}},
            size=limit,
            source=["id"],
            sort=[{"published_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}],
        )
        return [h["_source"]["id"] for h in res["hits"]["hits"]]

    def stream(self, tree: Node | None, filters: Filters, batch: int, newest: bool = False) -> Iterator[list[KeywordHit]]:
        """Pages of a point in time, each after the last (``search_after``): a consistent view
        however long the export takes, and no depth limit (from + size stops at 10,000)."""
        q = build_query(tree, filters) if tree is not None else {"bool": {"filter": filter_clauses(filters)}}
        if q is None or self._physical() is None:
            return
        with self._errors("open a point in time"):
            pit = self.es.open_point_in_time(index=self.target, keep_alive="2m")["id"]
        by_date = newest or tree is None
        sort = [
            {"published_at": {"order": "desc", "missing": "_last"}} if by_date else {"_score": {"order": "desc"}},
            {"id": "asc"},
        ]
        after: list | None = None
        try:
            while True:
                body: dict[str, Any] = {
                    "query": q,
                    "size": batch,
                    "sort": sort,
                    "source": ["id"],
                    "track_total_hits": False,
                    "pit": {"id": pit, "keep_alive": "2m"},
                }
                if after is not None:
                    body["search_after"] = after
                with self._errors("read the matches"):
                    res = self.es.search(**body)
                hits = res["hits"]["hits"]
                if not hits:
                    return
                pit, after = res.get("pit_id", pit), hits[-1]["sort"]
                yield [KeywordHit(h["_source"]["id"], float(h["_score"] or 0.0) if not by_date else 0.0) for h in hits]
        finally:
            with suppress(Exception):  # it expires by itself in two minutes
                self.es.close_point_in_time(id=pit)

    def hybrid(self, tree: Node | None, vector: np.ndarray, filters: Filters, limit: int, k: int) -> list[KeywordHit]:
        """Server-side fusion with the ``rrf`` retriever (Enterprise licence; Basic answers 403)."""
        q = build_query(tree, filters) or {"match_none": {}}
        fc = filter_clauses(filters)
        knn = {
            "field": "passages.vector",
            "query_vector": [float(x) for x in vector],
            "k": limit,
            "num_candidates": min(MAX_CANDIDATES, max(100, 2 * limit)),
        }
        if fc:
            knn["filter"] = fc
        retriever = {
            "rrf": {"retrievers": [{"standard": {"query": q}}, {"knn": knn}], "rank_window_size": limit, "rank_constant": k}
        }
        res = self._search("run a server-side hybrid search (rrf retriever)", retriever=retriever, size=limit, source=["id"])
        return [KeywordHit(h["_source"]["id"], float(h["_score"])) for h in res["hits"]["hits"]]

    def info(self) -> StoreInfo:
        index = self._physical()
        if index is None:
            return StoreInfo(self.backend, f"{self.settings.safe_url}/{self.alias}", 0, 0, None, None, None, None)
        meta = self._meta_of(index)
        res = self._search(
            "count articles",
            size=0,
            track_total_hits=True,
            aggs={
                "sources": {"terms": {"field": "source", "size": 1000, "missing": ""}},
                "years": {"terms": {"field": "year", "size": 1000}},
                "passages": {"sum": {"field": "n_passages"}},
            },
        )
        aggs = res["aggregations"]
        total = res["hits"]["total"]
        return StoreInfo(
            backend=self.backend,
            location=f"{self.settings.safe_url}/{self.alias} → {index}",
            articles=int(total["value"] if isinstance(total, dict) else total),
            passages=int(aggs["passages"]["value"] or 0),
            model=meta.get("model"),
            dim=int(meta["dim"]) if meta.get("dim") else None,
            analysis_version=meta.get("analysis_version"),
            schema_version=meta.get("schema_version"),
            sources={b["key"]: b["doc_count"] for b in aggs["sources"]["buckets"]},
            years=dict(sorted((int(b["key"]), b["doc_count"]) for b in aggs["years"]["buckets"])),
        )


# per source (up to 10,000 sources: a bucket for each, so the counts are exact on any number of
# shards) and per publication day
_TALLY_AGGS = {
    "sources": {"terms": {"field": "source", "size": 10_000, "missing": ""}},
    "days": {"date_histogram": {"field": "published_at", "calendar_interval": "day", "min_doc_count": 1}},
}


def _tally(res: dict) -> Tally:
    aggs = res.get("aggregations") or {}
    return Tally(
        int(res["hits"]["total"]["value"]),
        {b["key"]: int(b["doc_count"]) for b in aggs.get("sources", {}).get("buckets", [])},
        {
            dt.datetime.fromtimestamp(b["key"] / 1000, dt.UTC).date(): int(b["doc_count"])
            for b in aggs.get("days", {}).get("buckets", [])
        },
    )


def _first(values: Any) -> Any:
    return values[0] if isinstance(values, list) and values else values


def _passage(inner: dict) -> tuple[int, int, int]:
    """(n, start, end) of the best passage of a nested kNN hit, from ``fields`` (or ``_source``
    on servers that send it)."""
    fields = inner.get("fields", {}).get("passages")
    src = {k: _first(v) for k, v in fields[0].items()} if fields else dict(inner.get("_source") or {})
    return int(src.get("n", 0)), int(src.get("start", 0)), int(src.get("end", 0))


def _parse_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=None) if parsed.tzinfo else parsed


def _error_type(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("type", ""))
    return ""


def _reason(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return f"{err.get('type', 'error')}: {err.get('reason', '')}".strip()
    return str(getattr(exc, "message", exc))


def _item_reason(item: dict) -> str:
    if item.get("exception") is not None:  # the whole request failed (raise_on_exception=False)
        return f"{item.get('status')} {_reason(item['exception'])}"
    err = item.get("error")
    if isinstance(err, dict):
        return f"{item.get('status')} {err.get('type', 'error')}: {err.get('reason', '')}"
    return f"{item.get('status')} {err or item.get('exception') or 'failed'}"
