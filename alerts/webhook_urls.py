"""Which webhook URLs flagsite sends to.

Decision (docs/alerts.md, "Webhook URLs"): http and https only, no credentials in the URL, and by
default only public addresses: loopback, private (RFC 1918, fc00::/7), link-local (cloud metadata
at 169.254.169.254), multicast and reserved addresses are refused, so a person who may edit
channels cannot make the server probe its own network. Self-hosted teams whose receivers are
internal set FLAGSITE_ALERTS_WEBHOOK_ALLOW_PRIVATE=true. The check runs when a channel is saved
and again before every send, on every address the host name resolves to then (a name that
resolved to a public address when saved may point inside later). Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UrlRefused(ValueError):
    pass


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise UrlRefused(f"url: cannot resolve {host!r} ({exc})") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def webhook_url_check(url: str, *, resolve: bool = True) -> str:
    """The URL if flagsite may send to it; UrlRefused naming the reason otherwise.
    `resolve=False` checks only the form (for input that must not wait on DNS)."""
    if len(url) > 500:
        raise UrlRefused("url: at most 500 characters")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UrlRefused(f"url: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("url: must start with http:// or https://")
    if not parts.hostname:
        raise UrlRefused("url: has no host")
    if parts.username or parts.password:
        raise UrlRefused("url: must not contain a user name or password")
    if not resolve or settings.FLAGSITE_ALERTS_WEBHOOK_ALLOW_PRIVATE:
        return url
    for address in _addresses(parts.hostname, port):
        if not _public(address):
            raise UrlRefused(
                f"url: {parts.hostname} is a private, loopback or reserved address ({address});"
                " set FLAGSITE_ALERTS_WEBHOOK_ALLOW_PRIVATE=true to allow internal receivers"
            )
    return url
