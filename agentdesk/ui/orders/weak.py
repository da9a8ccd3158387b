"""Callbacks for bridge work that do not keep a widget alive from a worker thread.

A submitted job and its completion callbacks are released on the worker thread once the
job is done. If they held the last reference to a parentless widget (a dialog the user
just closed), the widget would be destroyed there, off the GUI thread, which crashes Qt.
Work therefore captures only services and values, and calls back through a weak reference.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any


def weak_callback(method: Callable[..., Any]) -> Callable[..., None]:
    """``method`` (a bound method) called only while its object is still alive."""
    ref = weakref.WeakMethod(method)

    def call(*args: Any) -> None:
        bound = ref()
        if bound is not None:
            bound(*args)

    return call
