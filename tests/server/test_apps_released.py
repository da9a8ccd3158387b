"""A test's server app is freed once the test is over (``tests.conftest.forget_apps``).

FastAPI caches what it learns about each endpoint callable for the life of the
process; an app's endpoints hold the app and its whole context. Without the
clean-up a full run kept every app it built and slowed to a crawl near its end.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import httpx

from agentdesk.server.app import build_context, create_app
from agentdesk.server.run import ServerThread
from agentdesk.server.settings import ListenSettings, ServerSettings
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine
from tests.conftest import forget_apps


def test_an_app_that_served_requests_is_freed_after_the_clean_up(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "central.db")
    migrate.upgrade(engine)
    listen = ListenSettings(host="127.0.0.1", port=0)
    app = create_app(build_context(engine, ServerSettings(listen=listen)))
    thread = ServerThread(app, listen)
    url = thread.start()
    try:
        for path in ("/openapi.json", "/health", "/ready"):
            assert httpx.get(url + path, timeout=10).status_code == 200, path
    finally:
        thread.stop()
    engine.dispose()
    gone = weakref.ref(app)
    del app, thread
    forget_apps()
    gc.collect()
    assert gone() is None, [type(r).__qualname__ for r in gc.get_referrers(gone())]
