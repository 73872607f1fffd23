"""What a recompile can keep from the previous compiled ruleset.

A flag's function depends on its own JSON, on the segments its clauses name (and the segments
those name), and on its prerequisites' functions. When none of these changed, the previous
function is still right and is reused as it is; everything else is compiled afresh. So toggling
one flag in a ruleset of thousands compiles one flag (and the flags that require it), and a
segment change compiles that segment and the flags that use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple


class Reuse(NamedTuple):
    functions: dict[str, Any]  # flag key -> function still valid
    errors: dict[str, str]  # flag key -> compile error still valid (for reused broken flags)
    segments: dict[str, Any]  # segment key -> compiled segment (or its CompileError)


NOTHING = Reuse({}, {}, {})
_LITERALS = frozenset({"values", "included", "excluded"})


def segment_references(value: Any) -> set[str]:
    """Segment keys named anywhere in a flag or segment (clauses with op "segment")."""
    found: set[str] = set()
    work = [value]
    while work:
        item = work.pop()
        if isinstance(item, Mapping):
            if item.get("op") == "segment" and isinstance(item.get("values"), list):
                found.update(v for v in item["values"] if isinstance(v, str))
            # A clause's values and a segment's key lists are literals, never clauses.
            work.extend(v for k, v in item.items() if k not in _LITERALS)
        elif isinstance(item, list):
            work.extend(item)
    return found


def _spread(dirty: set[str], edges: Mapping[str, Iterable[str]]) -> set[str]:
    """Everything that reaches a dirty node through `edges` (node -> what it depends on)."""
    users: dict[str, list[str]] = {}
    for node, targets in edges.items():
        for target in targets:
            users.setdefault(target, []).append(node)
    out = set(dirty)
    work = list(dirty)
    while work:
        for user in users.get(work.pop(), ()):
            if user not in out:
                out.add(user)
                work.append(user)
    return out


def reusable(previous: Any, flags: Mapping[str, Any], segments: Mapping[str, Any]) -> Reuse:
    """What of `previous` (a Ruleset compiled by compile_ruleset) stays valid for the new
    `flags` and `segments`."""
    old_flags = getattr(previous, "_flags", None)
    old_segments = getattr(previous, "_segments", None)
    old_compiled = getattr(previous, "_compiled_segments", None)
    if old_flags is None or old_segments is None or old_compiled is None:
        return NOTHING
    changed_segments = {
        k for k in set(segments) | set(old_segments) if segments.get(k) != old_segments.get(k)
    }
    segment_edges = {k: segment_references(s) for k, s in segments.items()}
    dirty_segments = _spread(changed_segments, segment_edges)
    kept_segments = {
        k: v for k, v in old_compiled.items() if k not in dirty_segments and k in segments
    }
    changed_flags = {k for k in set(flags) | set(old_flags) if flags.get(k) != old_flags.get(k)}
    for key, flag in flags.items():
        if key not in changed_flags and segment_references(flag) & dirty_segments:
            changed_flags.add(key)
    prerequisite_edges = {k: _prerequisites(f) for k, f in flags.items()}
    dirty_flags = _spread(changed_flags, prerequisite_edges)
    functions = {k: f for k, f in previous.functions.items() if k in flags and k not in dirty_flags}
    errors = {k: e for k, e in previous.errors.items() if k in functions}
    return Reuse(functions, errors, kept_segments)


def _prerequisites(flag: Any) -> list[str]:
    items = flag.get("prerequisites") if isinstance(flag, Mapping) else None
    if not isinstance(items, list):
        return []
    return [p["flag"] for p in items if isinstance(p, Mapping) and isinstance(p.get("flag"), str)]
