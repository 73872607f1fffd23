"""Parsing of the typed values clauses compare: numbers, SemVer, dates, IP networks, weights.

The validator and the compiler share these, so a literal the validator accepts is exactly one
the engine can evaluate. Each parser returns None for anything it does not accept.
"""

from __future__ import annotations

import ipaddress
import math
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Python's float() also takes "1_000", " 12 ", "inf" and "nan"; clauses take plain decimals only.
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

# The official SemVer 2.0 regular expression (semver.org, "Is there a suggested regular
# expression"): no leading "v", no leading zeros in numeric parts.
_SEMVER_RE = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?",
    re.ASCII,
)

SemverKey = tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]


def parse_number(value: Any) -> float | None:
    """A finite int/float (not bool), or a decimal string such as "12", "-1.5", "1e3"."""
    cls = value.__class__
    if cls is int or cls is float or (cls is str and _NUMBER_RE.fullmatch(value)):
        result = float(value)
    else:
        return None
    return result if math.isfinite(result) else None


@lru_cache(maxsize=4096)
def _semver_key(text: str) -> SemverKey | None:
    match = _SEMVER_RE.fullmatch(text)
    if match is None:
        return None
    major, minor, patch, pre, _build = match.groups()
    if pre is None:
        # A release sorts after every pre-release of the same version (SemVer §11.3).
        return (int(major), int(minor), int(patch), 1, ())
    # §11.4: numeric identifiers compare numerically and sort before alphanumeric ones, which
    # compare in ASCII order; a shorter list sorts first when all shared identifiers are equal,
    # which is exactly Python's tuple ordering.
    ids = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return (int(major), int(minor), int(patch), 0, ids)


def parse_semver(value: Any) -> SemverKey | None:
    """A sortable key for a SemVer 2.0 string (build metadata ignored), else None."""
    if value.__class__ is not str:
        return None
    return _semver_key(value)


def parse_date(value: Any) -> float | None:
    """Epoch seconds for an RFC 3339 / ISO 8601 string, epoch seconds, or a datetime.

    A date-time without an offset is taken as UTC.
    """
    cls = value.__class__
    if cls is int or cls is float:
        return float(value) if math.isfinite(value) else None
    if isinstance(value, datetime):
        moment = value
    elif cls is str:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_network(value: Any) -> IPNetwork | None:
    """A CIDR block or a single address (as a /32 or /128), else None."""
    if value.__class__ is not str:
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def parse_address(value: Any) -> IPAddress | None:
    if value.__class__ is not str:
        return None
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def weight_millis(value: Any) -> int | None:
    """A percentage (0..100, at most 3 decimals) in thousandths of a percent, else None.

    Thousandths are what the bucketing works in (100,000 buckets), so 33.333 is exact.
    """
    cls = value.__class__
    if cls is not int and cls is not float:
        return None
    if not math.isfinite(value) or value < 0 or value > 100:
        return None
    millis = round(value * 1000)
    if abs(millis - value * 1000) > 1e-6:
        return None
    return int(millis)
