"""Cycle finding for the two reference graphs: segments using segments, flags requiring flags."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping


def cyclic_components(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components that contain a cycle (Tarjan's algorithm, iterative so a
    long chain of references cannot overflow the stack). Edges to unknown nodes are ignored."""
    graph = {node: [t for t in targets if t in edges] for node, targets in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = graph[node]
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def cycle_path(start: str, edges: Mapping[str, Iterable[str]]) -> list[str]:
    """A shortest path start -> ... -> start (empty when start is on no cycle)."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target in edges.get(node, ()):
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start] if node != start else [start, start]
            if target not in previous and target in edges:
                previous[target] = node
                queue.append(target)
    return []
