"""A large Unleash export for the scale benchmark and the bulk-import test: `flags` features, each
a gradual rollout limited to one of `segments` segments of `ids_per_segment` user ids, some with
variants and constraints (the shape of a real, grown configuration)."""

from __future__ import annotations

from typing import Any


def unleash_document(
    *, flags: int = 1000, segments: int = 20, ids_per_segment: int = 10_000
) -> dict[str, Any]:
    segment_list = [
        {
            "id": s + 1,
            "name": f"cohort-{s + 1}",
            "constraints": [
                {
                    "contextName": "userId",
                    "operator": "IN",
                    "values": [f"user-{s}-{i}" for i in range(ids_per_segment)],
                }
            ],
        }
        for s in range(segments)
    ]
    features = []
    for f in range(flags):
        strategy: dict[str, Any] = {
            "name": "flexibleRollout",
            "parameters": {"rollout": str(f % 100), "stickiness": "default", "groupId": f"f{f}"},
            "constraints": [
                {"contextName": "appName", "operator": "IN", "values": [f"app-{f % 7}"]}
            ]
            if f % 3 == 0
            else [],
            "segments": [f % segments + 1] if segments else [],
        }
        feature: dict[str, Any] = {
            "name": f"scale-flag-{f:04d}",
            "description": f"scale test flag {f}",
            "enabled": f % 5 != 0,
            "strategies": [strategy],
        }
        if f % 4 == 0:
            feature["variants"] = [
                {
                    "name": name,
                    "weight": 500,
                    "stickiness": "default",
                    "payload": {"type": "string", "value": name},
                }
                for name in ("control", "treatment")
            ]
        features.append(feature)
    return {"version": 2, "features": features, "segments": segment_list}
