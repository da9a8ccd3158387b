"""A throwaway OpenLDAP ``slapd`` on loopback for the directory sign-in tests.

The Debian ``slapd`` package is used as shipped: a ``slapd.conf`` in a temp
directory (mdb backend, suffix ``dc=bank,dc=test``), the test tree loaded
offline with ``slapadd``, then ``slapd -h ldap://127.0.0.1:<port>/`` in the
foreground of a child process we own. Missing binaries fail loudly: CI
installs them through ``scripts/bootstrap``, and a silently skipped directory
test would hide a broken sign-in path.

Tree::

    dc=bank,dc=test
      ou=people   uid=alice (agent), uid=bob (supervisor), uid=carol (no group),
                  uid=dave (agent and admin groups -> admin)
      ou=groups   cn=cc-agents, cn=cc-supervisors, cn=cc-admins, cn=canteen
      ou=services cn=agentdesk (the search account)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SUFFIX = "dc=bank,dc=test"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret"
SERVICE_DN = f"cn=agentdesk,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-secret"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"

# login -> (cn, displayName or None, password)
USERS: dict[str, tuple[str, str | None, str]] = {
    "alice": ("Alice Archer", "Alice A.", "alice-pw"),
    "bob": ("Bob Baker", None, "bob-pw"),
    "carol": ("Carol Cole", "Carol C.", "carol-pw"),
    "dave": ("Dave Dunn", "Dave D.", "dave-pw"),
}
GROUP_MEMBERS: dict[str, tuple[str, ...]] = {
    "cc-agents": ("alice", "dave"),
    "cc-supervisors": ("bob",),
    "cc-admins": ("dave",),
    "canteen": ("carol", "alice"),
}

_SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
_SCHEMA_DIR = Path("/etc/ldap/schema")
_MODULE_DIRS = (Path("/usr/lib/ldap"), Path("/usr/lib64/openldap"), Path("/usr/lib/openldap"))


class SlapdMissing(RuntimeError):
    """slapd or its schema files are not installed."""


def _binary(name: str) -> str:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SlapdMissing(
        f"'{name}' not found: the LDAP sign-in tests need OpenLDAP. Install it with "
        "'DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils' "
        "(scripts/bootstrap does this)."
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(root: Path) -> str:
    missing = [s for s in _SCHEMAS if not (_SCHEMA_DIR / f"{s}.schema").exists()]
    if missing:
        raise SlapdMissing(f"OpenLDAP schema files missing in {_SCHEMA_DIR}: {missing}")
    module_dir = next((d for d in _MODULE_DIRS if (d / "back_mdb.la").exists()), None)
    lines = [f"include {_SCHEMA_DIR / s}.schema" for s in _SCHEMAS]
    if module_dir is not None:  # back_mdb is a loadable module on Debian, built in elsewhere
        lines += [f"modulepath {module_dir}", "moduleload back_mdb"]
    lines += [
        f"pidfile {root / 'slapd.pid'}",
        f"argsfile {root / 'slapd.args'}",
        "database mdb",
        "maxsize 16777216",
        f'suffix "{SUFFIX}"',
        f'rootdn "{ADMIN_DN}"',
        f"rootpw {ADMIN_PASSWORD}",
        f"directory {root / 'data'}",
        # As a real directory would: passwords usable only to bind, never readable.
        "access to attrs=userPassword by anonymous auth by self write by * none",
        "access to * by users read by * none",
    ]
    return "\n".join(lines) + "\n"


def _tree() -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\n"
        "o: Test Bank\ndc: bank\n",
    ]
    for ou in ("people", "groups", "services"):
        entries.append(f"dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\nou: {ou}\n")
    entries.append(
        f"dn: {SERVICE_DN}\nobjectClass: simpleSecurityObject\nobjectClass: organizationalRole\n"
        f"cn: agentdesk\nuserPassword: {SERVICE_PASSWORD}\n"
    )
    for login, (cn, display, password) in USERS.items():
        entry = (
            f"dn: uid={login},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {login}\n"
            f"cn: {cn}\nsn: {cn.split()[-1]}\nuserPassword: {password}\n"
        )
        if display:
            entry += f"displayName: {display}\n"
        entries.append(entry)
    for group, members in GROUP_MEMBERS.items():
        lines = "".join(f"member: uid={m},{PEOPLE}\n" for m in members)
        entries.append(f"dn: cn={group},{GROUPS}\nobjectClass: groupOfNames\ncn: {group}\n{lines}")
    return "\n".join(entries)


@dataclass
class SlapdServer:
    """One running slapd; ``stop()``/``start()`` simulate a directory outage."""

    root: Path
    port: int
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        # Running as root is fine for a loopback test server; -d keeps it in the
        # foreground so the child is ours to stop and never becomes an orphan daemon.
        log = (self.root / "slapd.log").open("ab")
        self._proc = subprocess.Popen(
            [
                _binary("slapd"),
                "-f",
                str(self.root / "slapd.conf"),
                "-h",
                self.url + "/",
                "-d",
                "0",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"slapd exited with {self._proc.returncode}: "
                    + (self.root / "slapd.log").read_text(errors="replace")[-2000:]
                )
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"slapd did not answer on {self.url} within {timeout} s")

    def _answers(self) -> bool:
        probe = subprocess.run(
            [
                _binary("ldapsearch"),
                "-x",
                "-H",
                self.url,
                "-D",
                ADMIN_DN,
                "-w",
                ADMIN_PASSWORD,
                "-b",
                SUFFIX,
                "-s",
                "base",
                "-LLL",
                "dn",
            ],
            capture_output=True,
            timeout=5,
            check=False,
        )
        return probe.returncode == 0

    def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None


@contextmanager
def running_slapd() -> Iterator[SlapdServer]:
    """Build the test directory in a temp dir, start slapd on a free port, stop it after."""
    slapadd = _binary("slapadd")
    _binary("slapd")
    _binary("ldapsearch")
    root = Path(tempfile.mkdtemp(prefix="agentdesk-slapd-"))
    try:
        (root / "data").mkdir(mode=0o700)
        (root / "slapd.conf").write_text(_config(root))
        (root / "tree.ldif").write_text(_tree())
        loaded = subprocess.run(
            [slapadd, "-f", str(root / "slapd.conf"), "-l", str(root / "tree.ldif")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if loaded.returncode != 0:
            raise RuntimeError(f"slapadd failed: {loaded.stderr.strip()}")
        server = SlapdServer(root, _free_port())
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
