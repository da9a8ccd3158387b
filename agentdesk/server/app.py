"""The server's composition root: settings → database → services → FastAPI app.

``build_context`` makes every long-lived part once; ``create_app`` mounts
the routers and error handlers on it. Tests call both with a temporary
store; ``agentdesk server`` and ``agentdesk demo`` call them through
``server/run.py``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

from agentdesk.models import Role
from agentdesk.server import problems
from agentdesk.server.api import (
    abandoned,
    corebank,
    cti,
    cti_directory,
    cti_floor,
    customers,
    duplicates,
    health,
    live,
    mutations,
    session,
    supervisor,
    sync,
)
from agentdesk.server.bus import Bus
from agentdesk.server.context import ServerContext
from agentdesk.server.cti.hub import CtiHub
from agentdesk.server.cti.lines import AgentDirectory
from agentdesk.server.live import LiveHub
from agentdesk.server.loop_watch import LoopWatch
from agentdesk.server.peers import PeerNews
from agentdesk.server.pins import PinBook
from agentdesk.server.scheduler import api as scheduler_api
from agentdesk.server.scheduler import build_scheduler
from agentdesk.server.settings import ServerSettings
from agentdesk.services.corebank.live import build_reader
from agentdesk.services.crm.caller_match import CallerMatcher
from agentdesk.services.crm.search import SearchService
from agentdesk.services.platform.ldap_directory import directory_from_config
from agentdesk.services.platform.reveal import RevealPolicy
from agentdesk.services.platform.signin import SignInPolicy, SignInService
from agentdesk.store.field_crypto import FieldCipher, FieldKeyError, load_field_keyring
from agentdesk.store.standby import ReportReader
from agentdesk.store.sync.central import CentralStore
from agentdesk.store.sync.port import DirectCentral
from agentdesk.store.sync.scope import SyncScope
from agentdesk.vault import KeyringUnavailable

log = logging.getLogger(__name__)

API = "/api/v1"


def field_cipher(path: Path | None) -> FieldCipher | None:
    """The field-encryption key, or None (reveals then answer 503 with the reason)."""
    try:
        return load_field_keyring(path)
    except (FieldKeyError, KeyringUnavailable) as exc:
        log.warning("no field-encryption key: protected fields cannot be revealed (%s)", exc)
        return None


def build_context(
    engine: Engine,
    settings: ServerSettings,
    *,
    region: str = "GB",
    cipher: FieldCipher | None = None,
    standby: Engine | None = None,
) -> ServerContext:
    """Every long-lived part over ``engine`` (the primary); reports read ``standby`` if given."""
    store = CentralStore(engine, cipher)
    pins = PinBook(engine)
    bus = Bus(settings.bus) if settings.bus.enabled else None
    signin = SignInService(
        engine,
        policy=SignInPolicy.from_mapping(settings.auth),
        directory=directory_from_config(settings.ldap),
    )
    return ServerContext(
        engine=engine,
        store=store,
        signin=signin,
        matcher=CallerMatcher(engine, source="central", region=region),
        search=SearchService(engine, region),
        hub=LiveHub(DirectCentral(store, SyncScope(), "server").changes(), pins),
        pins=pins,
        cipher=cipher,
        reveal_policy=RevealPolicy.load(),
        full_replica_roles=frozenset(Role(r) for r in settings.listen.full_replica_roles),
        cti=CtiHub(
            AgentDirectory(engine),
            settings.pbx,
            sessions_alive=signin.still_live,
            bus=bus if settings.pbx else None,
        ),
        scheduler=build_scheduler(
            store,
            settings.scheduler,
            smtp=settings.smtp,
            sms=settings.sms,
            report_mail=settings.report_mail,
        ),
        corebank=build_reader(engine, settings.corebank),
        reports=ReportReader(engine, standby),
        peers=PeerNews(bus, signin, pins) if bus is not None else None,
    )


def create_app(ctx: ServerContext) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        watch = LoopWatch()
        watch.start()
        probe = _app.state.database_probe = health.DatabaseProbe(ctx.engine)
        probe.start()
        if ctx.peers is not None:
            await ctx.peers.start()
        await ctx.hub.start()
        if ctx.cti is not None:
            await ctx.cti.start()
        if ctx.scheduler is not None:
            await ctx.scheduler.start()
        try:
            yield
        finally:
            if ctx.scheduler is not None:
                await ctx.scheduler.stop()
            if ctx.cti is not None:
                await ctx.cti.stop()
            if ctx.peers is not None:
                await ctx.peers.stop()
                await ctx.peers.bus.stop()
            await ctx.hub.stop()
            if ctx.corebank is not None:
                ctx.corebank.close()
            if ctx.reports is not None:
                ctx.reports.close()
            await probe.stop()
            ctx.signin.close()
            await watch.stop()

    app = FastAPI(
        title="agentdesk server",
        version="1",
        summary="Sign-in, sync, customer look-ups and reveals for agentdesk desktops.",
        lifespan=lifespan,
        # The stock /docs page loads Swagger UI from a public CDN; a bank's network has none
        # and should not fetch scripts from outside. The page is served from the package.
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = ctx
    problems.install(app)
    app.add_middleware(_BodyLimit, limit=ctx.max_body_bytes)
    app.include_router(health.router)
    _mount_docs(app)
    routers = (
        session, sync, mutations, customers, corebank, supervisor, duplicates, live, cti,
        cti_floor, cti_directory, abandoned,
    )  # fmt: skip
    for module in routers:
        app.include_router(module.router, prefix=API)
    app.include_router(scheduler_api.router, prefix=API)
    return app


def _mount_docs(app: FastAPI) -> None:
    """``/docs``: the OpenAPI page for integrators, with Swagger UI shipped in the package."""
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="agentdesk server — API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


class _BodyLimit:
    """Refuse oversized bodies from their declared length, before reading them.

    Plain ASGI rather than ``BaseHTTPMiddleware``, which costs every request a task
    and a pair of memory streams (measured: a tenth of the server's time under load).
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared: bytes | None = None
            for name, value in scope["headers"]:
                if name == b"content-length":
                    declared = value
            problem = None
            if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
                problem = problems.Problem(
                    413,
                    "too-large",
                    "Request too large",
                    f"Requests are limited to {self.limit // (1024 * 1024)} MB; "
                    "send smaller batches.",
                )
            elif declared is None and scope["method"] in ("POST", "PUT", "PATCH"):
                problem = problems.Problem(411, "length-required", "Content-Length required")
            if problem is not None:
                response = problems.problem_response(problem, Request(scope))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
