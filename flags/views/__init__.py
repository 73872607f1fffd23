"""The admin UI: one module per page (see flags/ui_urls.py). `healthz` is the probe."""

from .health import healthz

__all__ = ["healthz"]
