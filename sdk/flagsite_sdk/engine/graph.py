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


Chains = dict[str, tuple[int, str | None]]


def longest_chains(edges: Mapping[str, Iterable[str]]) -> Chains:
    """For each node, (length, next node) of the longest reference chain starting at it (a node
    alone is a chain of 1; `chain(result, node)` spells it out), in time linear in the graph:
    each node's chain is computed once (iteratively, so no recursion limit) and reused by every
    node that refers to it. Edges to unknown nodes and edges that
    close a cycle are ignored (cycles are reported elsewhere)."""
    graph = {node: [t for t in targets if t in edges] for node, targets in edges.items()}
    best: dict[str, tuple[int, str | None]] = {}  # node -> (chain length, next node)
    on_path: set[str] = set()
    for root in graph:
        if root in best:
            continue
        work = [(root, 0)]
        on_path.add(root)
        while work:
            node, child = work[-1]
            targets = graph[node]
            if child < len(targets):
                work[-1] = (node, child + 1)
                target = targets[child]
                if target not in best and target not in on_path:
                    work.append((target, 0))
                    on_path.add(target)
                continue
            work.pop()
            on_path.discard(node)
            length, following = 1, None
            for target in targets:
                if target in best and best[target][0] + 1 > length:
                    length, following = best[target][0] + 1, target
            best[node] = (length, following)
    return best


def chain(chains: Chains, node: str) -> list[str]:
    """The longest chain from `node`, as `longest_chains` found it."""
    path = [node]
    while (following := chains[path[-1]][1]) is not None and len(path) <= len(chains):
        path.append(following)
    return path


def reverse_edges(edges: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """The same graph with every edge turned around (who refers to each node)."""
    reverse: dict[str, list[str]] = {node: [] for node in edges}
    for node, targets in edges.items():
        for target in targets:
            if target in reverse:
                reverse[target].append(node)
    return reverse
