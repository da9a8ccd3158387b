"""Every failure as RFC 9457 ``application/problem+json``, with a message a person can act on.

Handlers here translate the domain's exceptions (sync protocol errors, a
database that went away, bad input) so routers raise what they mean and
never build error bodies themselves. Nothing is half-written: each request
runs its writes in one transaction, so an error means no change.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentdesk.store.sync.protocol import (
    ClientIdentityError,
    PoisonSuspect,
    ResyncRequired,
    is_transient,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://agentdesk.invalid/problems/"


class Problem(Exception):
    """An error answer: HTTP status, a short stable type, a title and a detail for people."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str = "",
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + problem.kind,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail or problem.title,
    }
    if request is not None:
        body["instance"] = request.url.path
    body.update(problem.extra)
    return JSONResponse(body, problem.status, headers=problem.headers, media_type=PROBLEM_JSON)


def unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "unauthorized",
        "Sign in again",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="agentdesk"'},
    )


def forbidden(detail: str) -> Problem:
    return Problem(403, "forbidden", "Not allowed for your role", detail)


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kinds = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}
        return problem_response(
            Problem(exc.status_code, kinds.get(exc.status_code, "http"), str(exc.detail)), request
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(
            Problem(400, "invalid-request", "The request is not valid", _validation_detail(exc)),
            request,
        )

    @app.exception_handler(ResyncRequired)
    async def _resync(request: Request, exc: ResyncRequired) -> JSONResponse:
        return problem_response(Problem(409, "resync-required", "Refill the cache", str(exc)))

    @app.exception_handler(ClientIdentityError)
    async def _identity(request: Request, exc: ClientIdentityError) -> JSONResponse:
        return problem_response(Problem(409, "client-identity", "Cache identity clash", str(exc)))

    @app.exception_handler(PoisonSuspect)
    async def _poison(request: Request, exc: PoisonSuspect) -> JSONResponse:
        return problem_response(
            Problem(
                422,
                "poison-suspect",
                "A change could not be applied",
                exc.detail,
                mutation_id=str(exc.mutation_id),
            )
        )

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        if is_transient(exc):
            log.warning("central database unavailable: %s", type(exc).__name__)
            return problem_response(
                Problem(
                    503,
                    "database-unavailable",
                    "The central database is unavailable",
                    "Nothing was changed. Your desktop keeps the work and retries.",
                    headers={"Retry-After": "2"},
                ),
                request,
            )
        log.exception("database error on %s", request.url.path)
        return problem_response(
            Problem(500, "internal", "The server failed", "Nothing was changed."), request
        )
