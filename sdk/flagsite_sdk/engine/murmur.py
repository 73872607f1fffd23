"""MurmurHash3 x86_32 in pure Python: the fallback when the `mmh3` C extension is missing.

It is about a hundred times slower per hash than `mmh3` (the benchmark workload drops from
millions to about 260,000 evaluations a second), and exists so the SDK still evaluates correctly
on a platform without a wheel. tests/engine/test_bucketing.py checks that both agree.
"""

from __future__ import annotations

_C1 = 0xCC9E2D51
_C2 = 0x1B873593
_MASK = 0xFFFFFFFF


def murmur3_x86_32(data: bytes, seed: int = 0) -> int:
    """The unsigned 32-bit MurmurHash3 (x86 variant) of `data`."""
    h = seed & _MASK
    length = len(data)
    tail = length & ~3
    for i in range(0, tail, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * _C1) & _MASK
        k = ((k << 15) | (k >> 17)) & _MASK
        k = (k * _C2) & _MASK
        h ^= k
        h = ((h << 13) | (h >> 19)) & _MASK
        h = (h * 5 + 0xE6546B64) & _MASK
    k = 0
    rest = length & 3
    if rest == 3:
        k ^= data[tail + 2] << 16
    if rest >= 2:
        k ^= data[tail + 1] << 8
    if rest >= 1:
        k ^= data[tail]
        k = (k * _C1) & _MASK
        k = ((k << 15) | (k >> 17)) & _MASK
        k = (k * _C2) & _MASK
        h ^= k
    h ^= length
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    h ^= h >> 16
    return h


def hash32(key: str, seed: int = 0, signed: bool = True) -> int:
    """Drop-in for `mmh3.hash(key, seed, signed)` on str keys (UTF-8 encoded, as mmh3 does)."""
    h = murmur3_x86_32(key.encode("utf-8"), seed)
    if signed and h & 0x80000000:
        return h - 0x100000000
    return h
