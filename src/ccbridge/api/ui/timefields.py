"""Date-time fields of the dashboard's forms, read once with the field at fault.

The forms use `<input type="datetime-local">`, which sends `2026-12-03T10:00` or
`2026-12-03T10:00:05` without an offset: the dashboard reads those as UTC (and says so next to the
field). A full RFC 3339 date-time with an offset, as the API takes, is accepted too. Values are
shown back in the same UTC form, so a filtered page's form repeats its filter.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ccbridge.api.history_params import time_param

LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")


def form_time(value: str | None, name: str) -> float | None:
    """Epoch seconds of a form's date-time (None when empty); `Malformed` naming `name` otherwise."""
    text = (value or "").strip()
    if not text:
        return None
    if LOCAL.match(text):
        text = (text if text.count(":") == 2 else text + ":00") + "Z"
    return time_param(text, name)


def local_value(ts: float | None) -> str:
    """`ts` as a `datetime-local` input's value, in UTC (empty for None)."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def shown(ts: float | None) -> str:
    """`ts` for people: `2026-12-03 10:00:05 UTC` (a dash for None)."""
    if ts is None:
        return "–"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
