"""``/health`` (the process answers) and ``/ready`` (it can serve: database and pokes work).

``/ready`` also reports each PBX link of the CTI gateway under ``pbx``; a PBX
that is down does not make the server unready (sign-in, sync and look-ups
still work, and the desktops are told on their CTI socket).

``standby`` says where reports read (``store/standby.py``): ``ok`` (the hot
standby), ``none`` (none configured) or ``unavailable (…); reports read the
primary``; it does not make the server unready either.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from agentdesk.server.context import Ctx

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process is up. Never touches the database."""
    return {"status": "ok"}


@router.get("/ready")
def ready(ctx: Ctx) -> JSONResponse:
    """Readiness for the load balancer: 503 while the database or live pokes are down."""
    checks: dict[str, str] = {}
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        checks["database"] = f"unavailable ({type(exc).__name__})"
    checks["live"] = "ok" if ctx.hub.listening else "reconnecting"
    ok = all(v == "ok" for v in checks.values())
    body: dict[str, object] = {"status": "ready" if ok else "not ready", "checks": checks}
    body["pbx"] = ctx.cti.status() if ctx.cti is not None else {}
    # Reports fall back to the primary, so a standby down never makes the server unready.
    body["standby"] = ctx.reports.status() if ctx.reports is not None else "none"
    return JSONResponse(body, 200 if ok else 503)
