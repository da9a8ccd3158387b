"""The bus between server instances: NATS subjects for events and requests, JetStream leases.

One instance needs no bus: its CTI gateway delivers to its own sockets in
process. Several instances behind a load balancer (``deploy/haproxy.cfg``)
share each PBX through NATS (``[bus] url``):

* **Leases** live in a JetStream key-value bucket (``agentdesk_leases``, file
  storage, one value per key, values expire ``lease_ttl`` seconds after their
  last write). :meth:`Lease.acquire` creates the key when it is absent or
  expired and renews it, with the revision it last wrote, while this instance
  holds it; a renewal that finds another revision means another instance took
  over. A holder that cannot renew for ``lease_ttl`` steps down by itself.
* **Events** are plain NATS subjects (``publish``/``subscribe``): live state a
  desktop recovers by a resync, so nothing is replayed after a gap.
* **Requests** (``request``/``serve``) carry what only the leader of a PBX can
  answer: a socket's first resync, an agent's call request.

The connection is retried in the background from start: the server serves
sign-in and sync while NATS is away, and its CTI sockets say the link is
moving. Subscriptions made while connected survive NATS reconnects (the
client re-subscribes); those asked for before the first connection are made
when it comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

from agentdesk.config import ConfigError

log = logging.getLogger(__name__)

LEASE_BUCKET = "agentdesk_leases"
PRESENT = "instance"  # key prefix in the lease bucket: the instances up (``Bus.present``)
RETRY_S = 1.0  # between attempts at the first connection


@dataclass(frozen=True)
class BusSettings:
    """``[bus]``: where NATS is and how this instance calls itself on it."""

    url: str = ""  # nats://127.0.0.1:4222 (several: comma-separated); empty = no bus
    instance: str = ""  # this instance's name on the bus (default: host-pid)
    # Seconds a PBX link stays with an instance that stopped renewing. 6 s lapsed under a
    # loaded box (event loop 1-4 s late plus JetStream's own writes) and the leases of all
    # four PBXs flapped between two healthy instances; 15 s is the usual lease (Kubernetes'
    # leader election too), renewed every 2 s, so a crash moves the link within ~17 s.
    lease_ttl: float = 15.0
    request_timeout: float = 2.0  # seconds to wait for the leader's answer

    @property
    def renew_every(self) -> float:
        """Seconds between renewals: several chances within one time to live."""
        return max(0.2, min(2.0, self.lease_ttl / 3))

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def name(self) -> str:
        return self.instance or f"{socket.gethostname()}-{os.getpid()}"


def parse_bus(raw: object) -> BusSettings:
    if raw is None:
        return BusSettings()
    if not isinstance(raw, dict):
        raise ConfigError("[bus] must be a table")
    unknown = set(raw) - set(BusSettings.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"unknown [bus] settings: {', '.join(sorted(unknown))}")
    url = str(raw.get("url", "")).strip()
    for part in filter(None, (p.strip() for p in url.split(","))):
        if not part.startswith(("nats://", "tls://")):
            raise ConfigError(f"[bus] url {part!r} must start with nats:// or tls://")
    try:
        ttl = float(raw.get("lease_ttl", BusSettings.lease_ttl))
        timeout = float(raw.get("request_timeout", BusSettings.request_timeout))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[bus] lease_ttl and request_timeout are seconds: {exc}") from exc
    if not 1.0 <= ttl <= 120.0:
        raise ConfigError("[bus] lease_ttl must be between 1 and 120 seconds")
    if not 0.1 <= timeout <= 30.0:
        raise ConfigError("[bus] request_timeout must be between 0.1 and 30 seconds")
    return BusSettings(url, str(raw.get("instance", "")), ttl, timeout)


def token(text: str) -> str:
    """``text`` as one NATS subject token (logins and site names may hold dots or spaces)."""
    return text.encode().hex() or "00"


class BusDown(Exception):
    """NATS is not reachable, or no instance answered the request."""


Handler = Callable[[str, bytes, str], None]  # subject, data, reply subject ("" if none)
Service = Callable[[bytes], Awaitable[bytes]]
Undo = Callable[[], Coroutine[Any, Any, None]]  # what ends a subscription


class Bus:
    """This instance's NATS connection (see the module docstring)."""

    def __init__(self, settings: BusSettings) -> None:
        self.settings = settings
        self.instance = settings.name()
        self._nc: Client | None = None
        self._kv: KeyValue | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pending: list[Undo] = []
        self._watchers: list[Callable[[bool], None]] = []

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    def on_state(self, watcher: Callable[[bool], None]) -> None:
        """Call ``watcher(connected)`` on the loop whenever the connection comes or goes."""
        self._watchers.append(watcher)

    async def start(self, wait: float = 5.0) -> None:
        """Connect (in the background; returns after ``wait`` s at most). Called again
        while started (the CTI relay and ``server/peers.py`` share one bus), it only waits."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._connect_loop())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), wait)
        if not self._connected.is_set():
            log.warning("bus: NATS at %s not reachable yet; retrying", self.settings.url)

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._nc.close(), 5.0)
        self._nc = None

    async def _connect_loop(self) -> None:
        servers = [p.strip() for p in self.settings.url.split(",") if p.strip()]
        while self._nc is None:
            try:
                nc = await nats.connect(
                    servers,
                    name=self.instance,
                    connect_timeout=2,
                    reconnect_time_wait=0.5,
                    max_reconnect_attempts=-1,
                    ping_interval=5,
                    max_outstanding_pings=2,
                    allow_reconnect=True,
                    disconnected_cb=self._disconnected,
                    reconnected_cb=self._reconnected,
                    error_cb=self._error,
                )
            except (OSError, NatsError, TimeoutError) as exc:
                log.debug("bus: cannot connect yet (%s)", type(exc).__name__)
                await asyncio.sleep(RETRY_S)
                continue
            self._nc = nc
        log.info("bus: %s connected to NATS", self.instance)
        await self._open_leases()
        pending, self._pending = self._pending, []
        for make in pending:
            await make()
        self._connected.set()
        self._tell(True)

    async def _open_leases(self) -> None:
        assert self._nc is not None
        js = self._nc.jetstream()
        while self._kv is None:
            try:
                try:
                    self._kv = await js.key_value(LEASE_BUCKET)
                except NotFoundError:
                    self._kv = await js.create_key_value(
                        KeyValueConfig(
                            bucket=LEASE_BUCKET,
                            history=1,
                            ttl=self.settings.lease_ttl,
                            storage=StorageType.FILE,
                        )
                    )
            except (NatsError, TimeoutError) as exc:
                log.warning("bus: JetStream not ready for leases (%s); retrying", exc)
                await asyncio.sleep(RETRY_S)

    async def _disconnected(self) -> None:
        log.warning("bus: disconnected from NATS; reconnecting")
        self._tell(False)

    async def _reconnected(self) -> None:
        log.info("bus: reconnected to NATS")
        self._tell(True)

    async def _error(self, exc: Exception) -> None:
        log.debug("bus: %s", type(exc).__name__)

    def _tell(self, up: bool) -> None:
        for watcher in list(self._watchers):
            try:
                watcher(up)
            except Exception:
                log.exception("bus: a connection watcher failed")

    # ------------------------------------------------------------------ messages
    async def publish(self, subject: str, data: bytes) -> None:
        """Send ``data`` on ``subject``; dropped (with no error) while NATS is away."""
        nc = self._nc
        if nc is None:
            return
        try:
            await nc.publish(subject, data)
        except NatsError as exc:
            log.debug("bus: publish on %s dropped (%s)", subject, type(exc).__name__)

    async def subscribe(self, subject: str, handler: Handler) -> Undo:
        """Call ``handler(subject, data, reply)`` on the loop for each message; returns the
        undo. Messages of one subscription are handled in the order they arrived."""
        holder: dict[str, Any] = {}

        async def callback(msg: Msg) -> None:
            try:
                handler(msg.subject, msg.data, msg.reply or "")
            except Exception:
                log.exception("bus: the handler of %s failed", subject)

        async def make() -> None:
            assert self._nc is not None
            holder["sub"] = await self._nc.subscribe(subject, cb=callback)

        if self._nc is None:
            self._pending.append(make)
        else:
            await make()

        async def undo() -> None:
            sub = holder.pop("sub", None)
            if sub is not None:
                with contextlib.suppress(NatsError):
                    await sub.unsubscribe()
            elif make in self._pending:
                self._pending.remove(make)

        return undo

    async def serve(self, subject: str, service: Service) -> Undo:
        """Answer requests on ``subject`` with ``await service(data)``; returns the undo."""

        async def callback(msg: Msg) -> None:
            try:
                answer = await service(msg.data)
            except Exception:
                log.exception("bus: the service on %s failed", subject)
                return
            with contextlib.suppress(NatsError):
                await msg.respond(answer)

        assert self._nc is not None, "serve() only once connected"
        sub = await self._nc.subscribe(subject, cb=callback)

        async def undo() -> None:
            with contextlib.suppress(NatsError):
                await sub.unsubscribe()

        return undo

    async def request(self, subject: str, data: bytes, timeout: float | None = None) -> bytes:
        """The answer of whoever serves ``subject``; :class:`BusDown` if none does in time."""
        nc = self._nc
        if nc is None or not nc.is_connected:
            raise BusDown("the bus between servers is not connected")
        try:
            msg = await nc.request(subject, data, timeout=timeout or self.settings.request_timeout)
        except NoRespondersError as exc:
            raise BusDown("no server answers for it") from exc
        except (NatsTimeout, TimeoutError) as exc:
            raise BusDown("no server answered in time") from exc
        except NatsError as exc:
            raise BusDown(f"the bus failed ({type(exc).__name__})") from exc
        return bytes(msg.data)

    def lease(self, name: str) -> Lease:
        return Lease(self, name)

    async def present(self) -> frozenset[str] | None:
        """Say this instance is up, and the keys of every instance that said so lately.

        Each instance's key in the lease bucket lives ``lease_ttl`` seconds after its
        last write, like a lease. None while JetStream cannot be reached.
        """
        kv = self._kv
        if kv is None or not self.connected:
            return None
        try:
            await kv.put(f"{PRESENT}.{token(self.instance)}", b"")
            keys = await kv.keys()
        except (NatsError, TimeoutError):
            return None
        # Keys are counted, not decoded: a name is only ever compared with the last read.
        return frozenset(k for k in keys if k.startswith(f"{PRESENT}."))


class Lease:
    """One named lease in the JetStream bucket, held as this instance (see module docstring)."""

    def __init__(self, bus: Bus, name: str) -> None:
        self.bus = bus
        self.key = token(name)
        self.name = name
        self.revision: int | None = None
        self.renewed_at = 0.0  # monotonic time of the last successful acquire/renew
        self.holder: str = ""  # who holds it, as last read

    @property
    def held(self) -> bool:
        """Held and renewed within the lease's time to live (by this instance's clock)."""
        return (
            self.revision is not None
            and time.monotonic() - self.renewed_at < self.bus.settings.lease_ttl
        )

    async def acquire(self) -> bool:
        """Take the lease when it is free, renew it while held; True while this instance holds
        it. NATS away: True only until the last renewal is ``lease_ttl`` old."""
        kv = self.bus._kv
        if kv is None or not self.bus.connected:
            return self._expire_if_stale()
        me = self.bus.instance.encode()
        try:
            if self.revision is None:
                self.revision = await kv.create(self.key, me)
            else:
                self.revision = await kv.update(self.key, me, last=self.revision)
        except KeyWrongLastSequenceError:
            # A renewal that timed out here may still have been written: if the value is
            # ours, so is the lease (at the revision the bucket holds).
            if await self._still_mine(kv):
                self.renewed_at = time.monotonic()
                return True
            if self.revision is not None:
                log.warning("lease %s: taken over by another server", self.name)
            self.revision = None
            await self._read_holder(kv)
            return False
        except (NatsError, TimeoutError) as exc:
            log.debug("lease %s: cannot reach JetStream (%s)", self.name, type(exc).__name__)
            return self._expire_if_stale()
        if self.holder != self.bus.instance:
            log.info("lease %s: %s holds it", self.name, self.bus.instance)
        self.holder = self.bus.instance
        self.renewed_at = time.monotonic()
        return True

    def _expire_if_stale(self) -> bool:
        if self.revision is not None and not self.held:
            log.warning("lease %s: not renewed for %.0f s; giving it up", self.name,
                        self.bus.settings.lease_ttl)  # fmt: skip
            self.revision = None
        return self.held

    async def _still_mine(self, kv: KeyValue) -> bool:
        if self.revision is None:
            return False
        try:
            entry = await kv.get(self.key)
        except (KeyNotFoundError, NatsError, TimeoutError):
            return False
        if (entry.value or b"") != self.bus.instance.encode() or entry.revision is None:
            return False
        self.revision = int(entry.revision)
        return True

    async def _read_holder(self, kv: KeyValue) -> None:
        with contextlib.suppress(KeyNotFoundError, NatsError, TimeoutError):
            entry = await kv.get(self.key)
            self.holder = (entry.value or b"").decode(errors="replace")

    async def release(self) -> None:
        """Give it up at once (a clean stop), so another instance takes over now."""
        kv = self.bus._kv
        revision, self.revision = self.revision, None
        if kv is None or revision is None:
            return
        with contextlib.suppress(NatsError, TimeoutError):
            await kv.delete(self.key, last=revision)
