"""Money and ratio formatting for the cost pages (USD everywhere)."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def usd(value: Decimal | float | None) -> str:
    """$1,234.56: two decimals (amounts)."""
    if value is None:
        return "—"
    return f"${Decimal(str(value)):,.2f}"


@register.filter
def usd_small(value: Decimal | float | None) -> str:
    """Per-call amounts keep four significant decimals: $0.0123."""
    if value is None:
        return "—"
    v = Decimal(str(value))
    return f"${v:,.2f}" if abs(v) >= 1 else f"${v:.4f}"


@register.filter
def tokens(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


@register.filter
def percent1(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


@register.filter
def signed_percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f} %"
