"""``/health`` (the process answers) and ``/ready`` (it can serve: database and pokes work).

``/ready`` also reports each PBX link of the CTI gateway under ``pbx``; a PBX
that is down does not make the server unready (sign-in, sync and look-ups
still work, and the desktops are told on their CTI socket).

``standby`` says where reports read (``store/standby.py``): ``ok`` (the hot
standby), ``none`` (none configured) or ``unavailable (…); reports read the
primary``; it does not make the server unready either.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from agentdesk.server.context import Ctx

router = APIRouter(tags=["health"])

PROBE_EVERY = 1.0  # seconds between database checks
FRESH_FOR = 10.0  # seconds a successful check counts when no newer one has finished


class DatabaseProbe:
    """The database check behind ``/ready``, kept in the background on a thread of its own.

    Asked inside the request, the check waited for a worker thread and a pooled
    connection: under a 2,000-desktop load both were busy for seconds, HAProxy's 5 s
    checks timed out and it took the instances out in turn, although each was merely
    busy. Now ``/ready`` answers from the last check: a failed check makes it 503 at
    once; a check that has not finished for ``FRESH_FOR`` seconds does too.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # Two threads: a check stuck waiting for a pooled connection does not hold up the
        # standby's status (asked per request, on this executor too).
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ready-probe")
        self._last: tuple[float, str] | None = None  # (monotonic time, "ok" or why not)
        self._task: asyncio.Task[None] | None = None

    def check_now(self) -> str:
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            result = "ok"
        except SQLAlchemyError as exc:
            result = f"unavailable ({type(exc).__name__})"
        self._last = (time.monotonic(), result)
        return result

    @property
    def checked(self) -> bool:
        return self._last is not None

    def state(self) -> str:
        if self._last is None:
            return self.check_now()
        at, result = self._last
        if result == "ok" and time.monotonic() - at > FRESH_FOR:
            return f"unavailable (no answer for {FRESH_FOR:.0f} s)"
        return result

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await loop.run_in_executor(self.executor, self.check_now)
            await asyncio.sleep(PROBE_EVERY)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.executor.shutdown(wait=False, cancel_futures=True)


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process is up. Never touches the database."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request, ctx: Ctx) -> JSONResponse:
    """Readiness for the load balancer: 503 while the database or live pokes are down.

    Answered on the event loop from the background probe (no request thread, no pooled
    connection); only the standby's status is asked on the probe's own thread.
    """
    probe: DatabaseProbe | None = getattr(request.app.state, "database_probe", None)
    if probe is None:  # an app built without create_app's lifespan
        probe = request.app.state.database_probe = DatabaseProbe(ctx.engine)
    loop = asyncio.get_running_loop()
    if probe.checked:
        database = probe.state()
    else:  # the first request after start-up waits for one real check
        database = await loop.run_in_executor(probe.executor, probe.check_now)
    checks = {"database": database, "live": "ok" if ctx.hub.listening else "reconnecting"}
    ok = all(v == "ok" for v in checks.values())
    body: dict[str, object] = {"status": "ready" if ok else "not ready", "checks": checks}
    body["pbx"] = ctx.cti.status() if ctx.cti is not None else {}
    # Reports fall back to the primary, so a standby down never makes the server unready.
    body["standby"] = (
        await loop.run_in_executor(probe.executor, ctx.reports.status)
        if ctx.reports is not None
        else "none"
    )
    return JSONResponse(body, 200 if ok else 503)
