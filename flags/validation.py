"""The Django side of validation: run the engine's validators, raise one ConfigError.

The rules themselves live in the engine (flagsite_sdk.engine), so the UI, the management API,
the importer and the SDK refuse exactly the same configurations.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError


class ConfigError(ValidationError):
    """A configuration was refused. `errors` is a list of (path, message)."""

    def __init__(self, errors: Iterable[tuple[str, str]]) -> None:
        self.errors = list(errors)
        by_path: dict[str, list[str]] = {}
        for path, message in self.errors:
            by_path.setdefault(path or "__all__", []).append(message)
        super().__init__(by_path)

    def __str__(self) -> str:
        return "; ".join(f"{p}: {m}" if p else m for p, m in self.errors)


def raise_if_errors(errors: Iterable[Any]) -> None:
    """Accepts engine ValidationError objects (with .path and .message) or (path, msg) pairs."""
    pairs: list[tuple[str, str]] = []
    for err in errors:
        if isinstance(err, tuple):
            pairs.append((str(err[0]), str(err[1])))
        else:
            pairs.append((str(getattr(err, "path", "")), str(getattr(err, "message", err))))
    if pairs:
        raise ConfigError(pairs)
