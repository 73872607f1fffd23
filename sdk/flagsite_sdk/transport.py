"""The SDK's HTTP, on the standard library alone (urllib): one request, one answer, every status
code returned rather than raised, every network failure turned into `TransportError`."""

from __future__ import annotations

import gzip
import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any

try:
    from importlib.metadata import version as _version

    USER_AGENT = f"flagsite-python-sdk/{_version('flagsite-sdk')}"
except Exception:  # not installed as a distribution (a source checkout on sys.path)
    USER_AGENT = "flagsite-python-sdk"


class TransportError(Exception):
    """The server could not be reached, or the connection broke or timed out."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: Message
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> Any:
        """The decoded body; ValueError when it is not JSON."""
        return json.loads(self.body)


class Transport:
    """Talks to one flagsite server with one API key."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Accept-Encoding": "gzip",
        }

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Response:
        data = None
        all_headers = dict(self._headers)
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        if headers:
            all_headers.update(headers)
        req = urllib.request.Request(
            self.base_url + path, data=data, headers=all_headers, method=method
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as resp:
                return Response(resp.status, resp.headers, _read(resp))
        except urllib.error.HTTPError as exc:  # any non-2xx status, 304 included
            try:
                payload = _read(exc)
            except (OSError, ValueError, http.client.HTTPException):
                payload = b""
            finally:
                exc.close()
            return Response(exc.code, exc.headers, payload)
        except (
            urllib.error.URLError,
            OSError,  # ConnectionError, TimeoutError
            http.client.HTTPException,  # RemoteDisconnected, IncompleteRead, BadStatusLine
            ValueError,  # a malformed URL or a broken gzip stream
        ) as exc:
            raise TransportError(f"{method} {path}: {exc}") from exc


def _read(resp: Any) -> bytes:
    body: bytes = resp.read()
    if (resp.headers.get("Content-Encoding") or "").lower() == "gzip" and body:
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise ValueError(f"bad gzip body: {exc}") from exc
    return body
