"""``agentdesk sync status|now|resync``: look at and nudge a workstation's sync, for support staff.

Works on the configured local cache (key from the keyring) and central store,
with the scope and agent the desktop last synced with. Run it while the
desktop is closed, or alongside it: every step is safe to repeat.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from agentdesk.commands.common import settings_from
from agentdesk.config import ConfigError, Settings
from agentdesk.models import utcnow
from agentdesk.store.engine import StoreError, encrypted_sqlite_engine, sqlite_engine
from agentdesk.store.field_crypto import KEY_FILE_ENV, FieldKeyring


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sync", help="show or run this workstation's sync with the centre"
    )
    actions = parser.add_subparsers(dest="sync_action", metavar="ACTION", required=True)
    status = actions.add_parser("status", help="pending changes, rejections, cursor, lag")
    status.add_argument(
        "--verify",
        action="store_true",
        help="also compare the cache with the central store, table by table",
    )
    status.set_defaults(func=_status)
    now = actions.add_parser("now", help="push pending changes and pull new ones once")
    now.set_defaults(func=_now)
    resync = actions.add_parser(
        "resync", help="rebuild the cache from the centre (keeps unsent work)"
    )
    resync.set_defaults(func=_resync)
    prune = actions.add_parser(
        "prune", help="central maintenance: drop change-feed rows older than the retention horizon"
    )
    prune.add_argument(
        "--days",
        type=int,
        default=90,
        help="keep this many days (desktops offline longer will refill; default 90)",
    )
    prune.set_defaults(func=_prune)


def _open(settings: Settings) -> Any:
    from agentdesk import vault
    from agentdesk.store.central import open_central

    path = settings.local_path
    if not path.exists():
        raise StoreError(f"no local cache at {path}; start the desktop once to create it")
    if settings.local.encrypted:
        key = vault.get_secret(vault.cache_key_name(settings.workstation))
        if key is None:
            raise StoreError(
                f"the keyring holds no key for the cache of workstation {settings.workstation!r}"
            )
        cache = encrypted_sqlite_engine(path, key)
    else:
        cache = sqlite_engine(path)
    return cache, open_central(settings)


def _syncer(args: argparse.Namespace) -> Any:
    from agentdesk.store.sync import CentralStore, Syncer, SyncScope
    from agentdesk.store.sync.local import LOGIN_KEY, SCOPE_KEY, LocalStore

    cache, central = _open(settings_from(args))
    local = LocalStore(cache)
    scope_text = local.get_state(SCOPE_KEY)
    scope = SyncScope.from_json(scope_text) if scope_text else SyncScope(full_replica=True)
    # Run on the server box, the support command applies pending edits as the server would,
    # so it uses the server's field key when one is configured.
    key_path = os.environ.get(KEY_FILE_ENV)
    keyring = FieldKeyring.from_file(key_path) if key_path else None
    centre = CentralStore(central, keyring)
    return Syncer(local, centre, scope, local.get_state(LOGIN_KEY) or "support")


def _run(action: Any, args: argparse.Namespace) -> int:
    from agentdesk.store.sync.protocol import SyncError, is_transient

    try:
        return int(action(args))
    except (StoreError, ConfigError, SyncError) as exc:
        print(f"agentdesk sync: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if not is_transient(exc):
            raise
        print(
            f"agentdesk sync: the central store is unreachable ({type(exc).__name__}); "
            "local changes stay queued",
            file=sys.stderr,
        )
        return 3


def _print_status(syncer: Any) -> None:
    pending, oldest = syncer.local.outbox_counts()
    print(f"client id:      {syncer.client_id}")
    print(f"agent:          {syncer.agent_login}")
    print(f"feed cursor:    {syncer.cursor}")
    age = "" if oldest is None else f" (oldest waiting {(utcnow() - oldest).total_seconds():.0f} s)"
    print(f"pending:        {pending}{age}")
    rejected = syncer.local.rejected()
    print(f"rejected:       {len(rejected)}")
    for entry in rejected:
        where = f" [{entry.error_field}]" if entry.error_field else ""
        print(f"  #{entry.client_seq} {entry.name} {entry.entity_id}{where}: {entry.error}")


def _status(args: argparse.Namespace) -> int:
    def action(args: argparse.Namespace) -> int:
        syncer = _syncer(args)
        _print_status(syncer)
        head = syncer.central.store.head()
        print(f"central head:   {head} ({'caught up' if syncer.cursor >= head else 'behind'})")
        if args.verify:
            from agentdesk.store.sync.verify import compare

            checks = compare(syncer.local.engine, syncer.central.store.engine, syncer.scope)
            for c in checks:
                verdict = "ok" if c.ok else f"{len(c.differing)} differ, {len(c.missing)} missing"
                print(f"  {c.table:<18} {c.local_rows:>8} rows  {verdict}")
            return 0 if all(c.ok for c in checks) else 1
        return 0

    return _run(action, args)


def _now(args: argparse.Namespace) -> int:
    def action(args: argparse.Namespace) -> int:
        syncer = _syncer(args)
        report = syncer.cycle()
        print(
            f"pushed {report.pushed} ({report.rejected} rejected), pulled {report.pulled} pages"
            + (", filled the cache" if report.filled else "")
        )
        _print_status(syncer)
        return 0

    return _run(action, args)


def _resync(args: argparse.Namespace) -> int:
    def action(args: argparse.Namespace) -> int:
        syncer = _syncer(args)
        counts = syncer.fill()
        report = syncer.cycle()
        print(f"refilled {sum(counts.values())} rows; pushed {report.pushed} pending changes")
        _print_status(syncer)
        return 0

    return _run(action, args)


def _prune(args: argparse.Namespace) -> int:
    def action(args: argparse.Namespace) -> int:
        import datetime as dt

        from agentdesk.store.central import open_central
        from agentdesk.store.sync import CentralStore

        if args.days < 1:
            raise ConfigError("--days must be at least 1")
        removed = CentralStore(open_central(settings_from(args))).prune(
            dt.timedelta(days=args.days)
        )
        print(f"removed {removed} change-feed rows older than {args.days} days")
        return 0

    return _run(action, args)
