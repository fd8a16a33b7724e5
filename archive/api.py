"""A read-only HTTP API over ``SearchService``: what the app and ``search --json`` answer, for
other programs (a notebook, R, a newsroom tool) and for the warm command line.

Versioned paths (``/v1/...``), JSON shapes equal to ``search --json`` (both come from
``archive.answers``), OpenAPI docs at ``/docs`` served from the installed package (no CDN: the
machines this runs on may have no network). Nothing here writes: the store is opened read-only
and no endpoint changes it. Access: an optional API key (``X-API-Key`` or ``Authorization:
Bearer``) compared in constant time; CORS only for the origins configured; request bodies, query
lengths and page sizes capped; every error a JSON object, never a traceback.
"""

import datetime as dt
import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import replace
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field

from archive import answers, export
from archive.answers import MAX_LIMIT, MAX_QUERY_CHARS, MAX_TERMS, Asked
from archive.config import ConfigError
from archive.model import Mode, Sort
from archive.search import SearchService
from archive.store.base import StoreError
from archive.timeline import Interval

MAX_BODY_BYTES = 1_000_000  # an embed request of 64 long passages fits
MAX_EMBED_TEXTS = 64
MAX_EMBED_CHARS = 20_000  # per text: a long article; the encoder reads its first 512 tokens anyway
log = logging.getLogger("archive.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuses a request body over ``limit`` bytes with 413, whether it declares its length or
    streams it in chunks (counted as it arrives, before any endpoint reads it whole)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        await JSONResponse({"error": f"request body over {self.limit:,} bytes"}, status_code=413)(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


class EmbedRequest(BaseModel):
    texts: list[Annotated[str, Field(max_length=MAX_EMBED_CHARS)]] = Field(min_length=1, max_length=MAX_EMBED_TEXTS)
    kind: Literal["query", "passage"] = "query"


def create_app(service: SearchService, api_key: str | None = None, cors_origins: tuple[str, ...] = ()) -> FastAPI:
    """The API over ``service`` (whose store should be opened read-only). ``api_key``: when set,
    every ``/v1`` request must carry it; ``cors_origins``: browser origins allowed to call it."""
    app = FastAPIOffline(
        title="Arabic news archive",
        version="1",
        description="Read-only search over an Arabic news archive: hybrid keyword + semantic search, "
        "articles, similar articles, attention over time, top terms, streamed exports. "
        "The JSON of /v1/search equals `python -m indexer search --json`.",
    )
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Authorization", "Content-Type"],
        )
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    expected = api_key.encode() if api_key else None

    def authorized(request: Request) -> None:
        if expected is None:
            return
        given = request.headers.get("x-api-key") or ""
        bearer = request.headers.get("authorization") or ""
        if not given and bearer[:7].lower() == "bearer ":
            given = bearer[7:]
        if not hmac.compare_digest(given.encode(), expected):  # constant time; the key is never logged
            raise _Unauthorized

    @app.exception_handler(_Unauthorized)
    async def unauthorized(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"error": "missing or wrong API key (send it as X-API-Key)"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )

    @app.exception_handler(ConfigError)
    async def bad_request(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        detail = [{"parameter": ".".join(str(p) for p in e.get("loc", ())[1:]), "message": e.get("msg", "")} for e in errors]
        first = detail[0] if detail else {"parameter": "", "message": "invalid request"}
        return JSONResponse({"error": f"{first['parameter']}: {first['message']}", "detail": detail}, status_code=422)

    @app.exception_handler(StoreError)
    async def unavailable(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=503)

    @app.exception_handler(Exception)
    async def internal(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error")  # the traceback goes to the server's log, never to the client
        return JSONResponse({"error": f"internal error ({type(exc).__name__})"}, status_code=500)

    v1: list[Any] = [Depends(authorized)]

    def asked(
        q: Annotated[str, Query(max_length=MAX_QUERY_CHARS, description="the query, in the search box's syntax")] = "",
        mode: Annotated[Mode, Query()] = "hybrid",
        weight: Annotated[float, Query(ge=0.0, le=1.0, description="semantic weight in hybrid mode")] = 0.5,
        source: Annotated[list[str] | None, Query(description="only these sources (repeat the parameter)")] = None,
        date_from: Annotated[dt.date | None, Query(alias="from", description="published on or after")] = None,
        date_to: Annotated[dt.date | None, Query(alias="to", description="published on or before")] = None,
        sort: Annotated[Sort, Query()] = "relevance",
        all_words: Annotated[bool, Query(description="juxtaposed words are all required")] = False,
        group: Annotated[bool, Query(description="one result per near-duplicate story")] = False,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
        weaker: Annotated[bool, Query(description="list semantic hits below the relevance floor after the matches")] = False,
        timeline: Annotated[Interval | Literal["auto"] | None, Query(description="attention over time by this interval")] = None,
        by_source: Annotated[bool, Query()] = False,
        stories: Annotated[bool, Query(description="the timeline counts stories, not articles")] = False,
        terms: Annotated[int | None, Query(ge=1, le=MAX_TERMS)] = None,
    ) -> Asked:
        # checked by answers.run, once an endpoint has filled in its view
        return Asked(
            q,
            mode=mode,
            weight=weight,
            sources=tuple(source or ()),
            date_from=date_from,
            date_to=date_to,
            sort=sort,
            all_words=all_words,
            group=group,
            page=page,
            limit=limit,
            weaker=weaker,
            timeline=timeline,
            by_source=by_source,
            stories=stories,
            terms=terms,
        )

    @app.get("/v1/search", dependencies=v1, summary="A page of results with the views asked for")
    def search(req: Annotated[Asked, Depends(asked)]) -> dict[str, Any]:
        return answers.answer(service, req)

    @app.get("/v1/articles/{article_id}", dependencies=v1, summary="One article, the query's words marked")
    def article(article_id: str, q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "") -> Any:
        found = answers.article_json(service, article_id, q)
        return _unknown(article_id) if found is None else found

    @app.get("/v1/articles/{article_id}/similar", dependencies=v1, summary="Vector neighbours of an article")
    def similar(article_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 5) -> Any:
        if not service.store.get([article_id], text=False):  # metadata only: no text read or marked
            return _unknown(article_id)
        return {"id": article_id, "similar": answers.similar_json(service, article_id, limit)}

    @app.get("/v1/status", dependencies=v1, summary="What the index holds")
    def status() -> dict[str, Any]:
        return answers.status_json(service.store)

    @app.get("/v1/timeline", dependencies=v1, summary="Attention over time of a query's matches")
    def timeline(req: Annotated[Asked, Depends(asked)]) -> dict[str, Any]:
        return _counts(answers.answer(service, replace(req, limit=1, timeline=req.timeline or "auto")), "timeline")

    @app.get("/v1/terms", dependencies=v1, summary="The most significant terms of a query's matches")
    def top_terms(req: Annotated[Asked, Depends(asked)]) -> dict[str, Any]:
        return _counts(answers.answer(service, replace(req, limit=1, terms=req.terms or 25)), "top_terms")

    @app.get("/v1/export", dependencies=v1, summary="Every match, streamed as CSV or JSONL (no cap)")
    def export_all(req: Annotated[Asked, Depends(asked)], format: Literal["csv", "jsonl"] = "csv") -> StreamingResponse:
        res = answers.run(service, replace(req, page=1, limit=1))
        name = export.file_name(req.query, dt.date.today())
        media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson; charset=utf-8"
        body: Iterator[str] = export.pieces(service.export(res), format)
        return StreamingResponse(
            (piece.encode("utf-8") for piece in body),
            media_type=media,
            headers={
                # header values are Latin-1: the Arabic name goes percent-encoded (RFC 6266 filename*)
                "Content-Disposition": f"attachment; filename=\"export.{format}\"; filename*=UTF-8''{quote(name)}.{format}",
                "X-Total-Matches": str(res.total),
                "X-Total-Exact": str(res.total_exact).lower(),
            },
        )

    @app.post("/v1/embed", dependencies=v1, summary="Vectors of texts, as the index embeds them (for kNN queries)")
    def embed(req: EmbedRequest) -> dict[str, Any]:
        emb = service.embedder
        vecs = emb.queries(req.texts) if req.kind == "query" else emb.passages(req.texts)
        return {"model": emb.name, "dim": emb.dim, "kind": req.kind, "vectors": vecs.tolist()}

    return app


def _unknown(article_id: str) -> JSONResponse:
    return JSONResponse({"error": f"no article {article_id!r} in the index"}, status_code=404)


class _Unauthorized(Exception):
    pass


def _counts(out: dict[str, Any], view: str) -> dict[str, Any]:
    """A view of a search answer with the counts it is read against (no page of hits)."""
    keep = ("query", "mode", "total", "total_exact", "total_text", "keyword_total", "semantic_total", "took_ms", "warnings", view)
    return {k: out[k] for k in keep if k in out}
