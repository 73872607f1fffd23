"""Bucketing, as docs/ruleset.md ("Bucketing") specifies it for every SDK.

    bucket(salt, value) = murmur3_x86_32(utf8(salt + "." + str(value)), seed=0) mod 100000

The compiled flag functions inline this formula; the functions here are the readable reference,
used by the tests, the published vectors and the Unleash hash mode.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .murmur import hash32 as _py_hash32

HashFunction = Callable[[str, int, bool], int]

_mmh3_hash: HashFunction | None
try:
    from mmh3 import hash as _mmh3_hash
except ImportError:  # pragma: no cover - exercised in a subprocess by the tests
    _mmh3_hash = None

BUCKETS = 100_000
# A weight or percentage of 1 % is 1000 buckets: weights have at most 3 decimals.
BUCKETS_PER_PERCENT = 1000
UNLEASH_VARIANT_SEED = 86028157

# The function the compiled flags call: mmh3's C code when it is installed.
hash32: HashFunction = _mmh3_hash if _mmh3_hash is not None else _py_hash32
USING_MMH3 = _mmh3_hash is not None


def murmur3_32(text: str, seed: int = 0) -> int:
    """Unsigned MurmurHash3 x86_32 of the UTF-8 bytes of `text`."""
    return hash32(text, seed, False)


def utf8_safe(text: str) -> str:
    """`text` as JavaScript's TextEncoder sees it: a surrogate pair is its character, a lone
    surrogate becomes U+FFFD.

    A string with surrogates has no UTF-8 encoding, and `mmh3` crashes the process on one (it
    does not raise), so nothing that reaches the hash may contain one.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def bucket_string(value: Any) -> str:
    """`str(value)` in the bucketing formula: strings as they are, integers in decimal, anything
    else as compact JSON (`true`, `1.5`, `["a","b"]`) so other languages can reproduce it.

    The compiled flags call this for every value that is not an ASCII string."""
    if isinstance(value, str):
        return value if value.isascii() else utf8_safe(value)
    if value.__class__ is int:
        return str(value)
    return utf8_safe(json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True))


def bucket(salt: str, value: Any) -> int:
    """The bucket (0..99999) of `value` under `salt`."""
    return hash32(utf8_safe(salt) + "." + bucket_string(value), 0, False) % BUCKETS


def unleash_normalized(group_id: str, value: Any, seed: int, total: int) -> int:
    """Unleash's `normalizedValue`: murmur3(group_id + ":" + value, seed) mod total + 1."""
    return hash32(utf8_safe(group_id) + ":" + bucket_string(value), seed, False) % total + 1


def pick_bucket_value(context: Mapping[str, Any], bucket_by: Sequence[str]) -> Any:
    """The first of the `bucket_by` attributes present (not null) in the context, else None."""
    for name in bucket_by:
        value = context.get(name)
        if value is not None:
            return value
    return None


def split_boundaries(weights_millis: Sequence[int]) -> list[int]:
    """Cumulative upper bounds: variant i owns buckets [bounds[i-1], bounds[i])."""
    bounds: list[int] = []
    total = 0
    for w in weights_millis:
        total += w
        bounds.append(total)
    return bounds


def unleash_boundaries(weights_millis: Sequence[int], total: int) -> list[int]:
    """Upper bounds in Unleash's 1..total space for a split whose weights are percentages.

    B_i = floor((c_i * total + 50000) / 100000), c_i the cumulative weight in thousandths of a
    percent: exact for Unleash's integer weights whenever total <= 100000 (see docs/ruleset.md).
    """
    return [(c * total + BUCKETS // 2) // BUCKETS for c in split_boundaries(weights_millis)]
