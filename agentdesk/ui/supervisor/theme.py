"""Colours and styles of the supervisor views: the desk look, and the wall-screen look.

Wall-screen mode is for a display across the room: white and saturated
colours on black (contrast well above WCAG AAA's 7:1), figures in a large
bold face sized from the screen height so a 1080p panel shows digits about
5 cm tall on a 55" screen, readable from 5 m.
"""

from __future__ import annotations

import datetime as dt

from agentdesk.services.supervisor import AgentStatus


class Tone:
    """Text colours for good / warning / bad figures (AA contrast on white)."""

    GOOD = "#1b7a34"
    WARN = "#9a5b00"
    BAD = "#b3261e"
    MUTED = "#6b7280"


class WallTone:
    """The same meanings on black."""

    GOOD = "#4ade80"
    WARN = "#fbbf24"
    BAD = "#f87171"
    TEXT = "#ffffff"


# Desk colours as they read on the wall screen's black background.
WALL_COLOURS: dict[str, str] = {
    Tone.GOOD: WallTone.GOOD,
    Tone.WARN: WallTone.WARN,
    Tone.BAD: WallTone.BAD,
    Tone.MUTED: "#d1d5db",
}

STATUS_COLOURS: dict[AgentStatus, str] = {
    AgentStatus.AVAILABLE: "#1b7a34",
    AgentStatus.RINGING: "#1f5fc4",
    AgentStatus.ON_CALL: "#b3261e",
    AgentStatus.ON_HOLD: "#7a3fb0",
    AgentStatus.WRAP_UP: "#5a3e9a",
    AgentStatus.PAUSED: "#9a5b00",
    AgentStatus.UNAVAILABLE: "#6b7280",
    AgentStatus.LOGGED_OUT: "#6b7280",
}


def clock(epoch: float | None) -> str:
    """Local HH:MM:SS of an epoch time ('' for None)."""
    if epoch is None:
        return ""
    return dt.datetime.fromtimestamp(epoch).strftime("%H:%M:%S")


DESK_STYLE = """
#wallboard { background: #f6f7f9; }
#boardTitle { font-size: 18px; font-weight: bold; color: #0d1b2e; }
#definition { color: #2b3340; background: #eef1f5; border: 1px solid #d0d4da;
              border-radius: 4px; padding: 4px 8px; }
#linkState { font-weight: bold; padding: 2px 8px; border-radius: 4px; color: #ffffff;
             background: #1b7a34; }
#linkState[state="down"] { background: #b3261e; }
#totals { font-size: 14px; color: #0d1b2e; }
#panelTitle { font-weight: bold; color: #2b3340; }
"""


def wall_style(pixel_size: int) -> str:
    """High-contrast large type; ``pixel_size`` is the body text height."""
    header = max(12, int(pixel_size * 0.55))
    return f"""
#wallboard, #wallboard QWidget {{ background: #000000; color: #ffffff; }}
#wallboard QTableView {{ background: #000000; color: #ffffff; gridline-color: #333333;
    font-size: {pixel_size}px; font-weight: bold; border: none;
    selection-background-color: #000000; selection-color: #ffffff; }}
#wallboard QHeaderView::section {{ background: #000000; color: #d1d5db; border: none;
    border-bottom: 2px solid #ffffff; font-size: {header}px; padding: 4px 10px; }}
#boardTitle {{ font-size: {header}px; color: #ffffff; }}
#definition {{ font-size: {max(12, pixel_size // 3)}px; color: #d1d5db; background: #000000;
    border: none; }}
#totals {{ font-size: {int(pixel_size * 0.75)}px; font-weight: bold; color: #ffffff; }}
#waitNote {{ font-size: {max(14, int(pixel_size * 0.4))}px; font-weight: bold;
    color: {WallTone.WARN}; }}
#wallAlert {{ font-size: {int(pixel_size * 0.6)}px; font-weight: bold; color: #000000;
    background: {WallTone.WARN}; padding: 6px 16px; }}
#wallAlert[level="critical"] {{ background: {WallTone.BAD}; }}
#linkState {{ font-size: {header}px; font-weight: bold; padding: 2px 10px; color: #000000;
    background: {WallTone.GOOD}; }}
#linkState[state="down"] {{ background: {WallTone.BAD}; }}
"""
