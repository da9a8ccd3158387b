"""Layer rules hold: Qt only in agentdesk.ui, telephony free of storage and UI."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import agentdesk

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_imports_without_qt_installed() -> None:
    """Every non-UI module imports in an interpreter where PySide6 cannot be imported."""
    core = [
        m.name
        for m in pkgutil.walk_packages(agentdesk.__path__, "agentdesk.")
        if not m.name.startswith(("agentdesk.ui", "agentdesk.app", "agentdesk.commands"))
        and ".migrations" not in m.name
    ]
    script = (
        "import sys, importlib\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PySide6', 'shiboken6'):\n"
        "            raise ImportError('Qt is not allowed here: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for name in {core!r}:\n"
        "    importlib.import_module(name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
