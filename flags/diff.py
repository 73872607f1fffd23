"""Readable diffs between two JSON documents (versions, audit entries)."""

from __future__ import annotations

from typing import Any

_MISSING = object()


def json_diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """List the changed leaves as {"path", "before", "after"}; None marks absent values.

    Lists of objects with an "id" or "key" are matched by it, so reordering rules shows as a
    move rather than as every rule changing.
    """
    changes: list[dict[str, Any]] = []
    _walk(before, after, path, changes)
    return changes


def _ident(item: Any) -> str | None:
    if isinstance(item, dict):
        for name in ("id", "key", "variant", "flag"):
            if isinstance(item.get(name), str):
                return f"{name}={item[name]}"
    return None


def _walk(before: Any, after: Any, path: str, out: list[dict[str, Any]]) -> None:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in list(before) + [k for k in after if k not in before]:
            sub = f"{path}.{key}" if path else str(key)
            b, a = before.get(key, _MISSING), after.get(key, _MISSING)
            if b is _MISSING:
                out.append({"path": sub, "before": None, "after": a})
            elif a is _MISSING:
                out.append({"path": sub, "before": b, "after": None})
            else:
                _walk(b, a, sub, out)
        return
    if isinstance(before, list) and isinstance(after, list):
        ids_b = [_ident(x) for x in before]
        ids_a = [_ident(x) for x in after]
        if all(ids_b) and all(ids_a) and len(set(ids_b)) == len(ids_b) == len(before):
            _walk_identified(before, after, ids_b, ids_a, path, out)
            return
        if len(before) == len(after):
            for i, (b, a) in enumerate(zip(before, after, strict=True)):
                _walk(b, a, f"{path}[{i}]", out)
            return
    out.append({"path": path or "(root)", "before": before, "after": after})


def _walk_identified(
    before: list[Any],
    after: list[Any],
    ids_b: list[str | None],
    ids_a: list[str | None],
    path: str,
    out: list[dict[str, Any]],
) -> None:
    by_id_b = dict(zip(ids_b, before, strict=True))
    by_id_a = dict(zip(ids_a, after, strict=True))
    for ident, item in by_id_b.items():
        if ident not in by_id_a:
            out.append({"path": f"{path}[{ident}]", "before": item, "after": None})
    for ident, item in by_id_a.items():
        if ident not in by_id_b:
            out.append({"path": f"{path}[{ident}]", "before": None, "after": item})
        else:
            _walk(by_id_b[ident], item, f"{path}[{ident}]", out)
    common_b = [i for i in ids_b if i in by_id_a]
    common_a = [i for i in ids_a if i in by_id_b]
    if common_b != common_a:
        out.append({"path": f"{path} (order)", "before": common_b, "after": common_a})


def diff_summary(changes: list[dict[str, Any]], limit: int = 3) -> str:
    if not changes:
        return "no changes"
    paths = [c["path"] for c in changes[:limit]]
    more = f" and {len(changes) - limit} more" if len(changes) > limit else ""
    return "changed " + ", ".join(paths) + more
