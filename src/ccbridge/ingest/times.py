"""Event times from legacy payloads, normalised to RFC 3339 UTC (`2024-05-01T10:00:00.250Z`).

Accepted: an RFC 3339 date-time with `Z` or any numeric offset (a time without an offset is
ambiguous and refused); epoch seconds or milliseconds as a JSON number or a digit string
(fractions allowed). A magnitude of 1e11 or more is read as milliseconds (1e11 s is the year 5138,
1e11 ms is 1973). Anything else raises ValueError: a bad time is never replaced by "now".
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII
)
_EPOCH = re.compile(r"^\d{1,16}(?:\.\d{1,9})?$", re.ASCII)
_MILLIS_FROM = Decimal("1e11")
_EPOCH_ZERO = datetime(1970, 1, 1, tzinfo=UTC)
EXPECTED = "expected an RFC 3339 date-time with offset, or epoch seconds/milliseconds"


def format_utc(moment: datetime) -> str:
    """RFC 3339 in UTC with `Z`: no fraction, milliseconds, or microseconds, whichever is exact."""
    moment = moment.astimezone(UTC)
    text = moment.replace(microsecond=0, tzinfo=None).isoformat()
    if moment.microsecond % 1000:
        return f"{text}.{moment.microsecond:06d}Z"
    if moment.microsecond:
        return f"{text}.{moment.microsecond // 1000:03d}Z"
    return text + "Z"


def _from_rfc3339(text: str) -> datetime:
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(EXPECTED)
    day, clock, fraction, offset = match.groups()
    micros = (fraction or "").ljust(6, "0")[:6]
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.fromisoformat(f"{day}T{clock}.{micros}{offset}").astimezone(UTC)
    except ValueError as exc:  # 2024-02-30, 25:00:00, offset +24:00 ...
        raise ValueError(f"not a valid date-time ({exc})") from None
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise ValueError("date-time out of range") from None


def _from_epoch(number: Decimal) -> datetime:
    seconds = number / 1000 if abs(number) >= _MILLIS_FROM else number
    try:
        return _EPOCH_ZERO + timedelta(microseconds=int(seconds * 1_000_000))
    except OverflowError:
        raise ValueError("epoch time out of range") from None


def normalize_time(value: Any) -> str:
    """`value` as RFC 3339 UTC; ValueError with a short reason when it is not a time we accept."""
    if isinstance(value, bool) or value is None:
        raise ValueError(EXPECTED)
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError("epoch time must be a finite, non-negative number")
        return format_utc(_from_epoch(Decimal(str(value))))
    if not isinstance(value, str):
        raise ValueError(EXPECTED)
    text = value.strip()
    if _EPOCH.match(text):
        try:
            return format_utc(_from_epoch(Decimal(text)))
        except InvalidOperation:
            raise ValueError(EXPECTED) from None
    return format_utc(_from_rfc3339(text))
