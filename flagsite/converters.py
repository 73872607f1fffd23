"""URL converters shared by the UI's routes."""

from __future__ import annotations


class KeyConverter:
    """A flag, segment or environment key in a URL path: one path segment without NUL.

    PostgreSQL refuses NUL in text parameters, so `/flags/a%00b/` used to reach the key lookup
    and answer 500. No key can contain NUL (none can be stored), so such a URL matches no route
    and Django answers 404 before any view or query runs. The key's own format is checked where
    keys are created (flags.models), not here: a route must keep reaching every stored key.
    """

    regex = "[^/\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
