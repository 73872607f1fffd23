"""System checks of the delivery settings (`manage.py check`)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def deprecated_proxy_setting(app_configs: Any, **kwargs: Any) -> list[Warning]:
    """FEEDBACK_PROXY_COUNT became FLAGSITE_TRUSTED_PROXY_COUNT (every endpoint, not only
    feedback). The old name still works; this says so once at start-up."""
    if "FEEDBACK_PROXY_COUNT" not in os.environ and not hasattr(settings, "FEEDBACK_PROXY_COUNT"):
        return []
    return [
        Warning(
            "FEEDBACK_PROXY_COUNT is deprecated: set FLAGSITE_TRUSTED_PROXY_COUNT instead "
            "(it applies to every delivery endpoint, not only feedback).",
            id="delivery.W001",
        )
    ]


@register()
def rate_limit_slice_setting(app_configs: Any, **kwargs: Any) -> list[Error]:
    """FLAGSITE_RATE_LIMIT_SLICE must be 1 - 1,000 (delivery.ratelimit clamps it meanwhile)."""
    from .ratelimit import MAX_SLICE

    value = getattr(settings, "FLAGSITE_RATE_LIMIT_SLICE", 100)
    if isinstance(value, int) and 1 <= value <= MAX_SLICE:
        return []
    return [
        Error(
            f"FLAGSITE_RATE_LIMIT_SLICE={value!r}: expected an integer from 1 to {MAX_SLICE} "
            "(units a process reserves at a time; 1 counts every request in Redis).",
            id="delivery.E001",
        )
    ]
