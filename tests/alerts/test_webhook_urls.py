"""Which webhook URLs are accepted (docs/alerts.md, "Webhook URLs")."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.webhook_urls import UrlRefused, webhook_url_check


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https://user:pw@example.com/",
        "https:///nohost",
        "http://[::1",
        "https://example.com/" + "x" * 500,
    ],
)
def test_malformed_or_foreign_urls_are_refused(url: str) -> None:
    with pytest.raises(UrlRefused, match="url"):
        webhook_url_check(url, resolve=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fd00::1]/",
        "http://0.0.0.0/",
    ],
)
def test_internal_addresses_are_refused_by_default(settings: Any, url: str) -> None:
    settings.FLAGSITE_ALERTS_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(UrlRefused, match="FLAGSITE_ALERTS_WEBHOOK_ALLOW_PRIVATE"):
        webhook_url_check(url)


def test_internal_addresses_are_allowed_with_the_setting(settings: Any) -> None:
    settings.FLAGSITE_ALERTS_WEBHOOK_ALLOW_PRIVATE = True
    assert webhook_url_check("http://10.1.2.3/hook") == "http://10.1.2.3/hook"


def test_public_addresses_are_allowed(settings: Any) -> None:
    settings.FLAGSITE_ALERTS_WEBHOOK_ALLOW_PRIVATE = False
    assert webhook_url_check("https://93.184.215.14/hook")
