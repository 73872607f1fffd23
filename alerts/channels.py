"""Sending one delivery through its channel: email, or a signed webhook (standard or Slack body).

Every send has a timeout and returns a SendResult; nothing here raises, so a broken channel is an
attempt recorded as failed, never an exception in another channel's way.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from .models import Alert, Channel, ChannelKind, Delivery, PayloadFormat
from .signing import signed_headers
from .webhook_urls import UrlRefused, webhook_url_check

EXCERPT = 200


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status_code: int | None = None
    error: str = ""
    excerpt: str = ""
    final: bool = False  # retrying cannot help (the channel's configuration is wrong)


def absolute_link(link: str) -> str:
    if link.startswith("/") and settings.FLAGSITE_BASE_URL:
        return settings.FLAGSITE_BASE_URL.rstrip("/") + link
    return link


def alert_data(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "source": alert.source,
        "dedupe_key": alert.dedupe_key,
        "severity": alert.severity,
        "status": alert.status,
        "title": alert.title,
        "body": alert.body,
        "link": absolute_link(alert.link),
        "details": alert.details,
        "environment": alert.environment.key if alert.environment else None,
        "created_at": alert.created_at.isoformat(),
        # Each step up under the same key (docs/alerts.md, "Escalation"); [] for most alerts.
        "escalations": [
            {"at": s["at"], "from": s["from"], "to": s["to"]} for s in alert.escalations
        ],
    }


def escalated_from(alert: Alert) -> str:
    """The suffix ' (escalated from warning)' for an alert raised again at a higher severity
    under its key (its first severity), else an empty string."""
    return f" (escalated from {alert.escalations[0]['from']})" if alert.escalations else ""


def payload_standard(alert: Alert) -> dict[str, Any]:
    return {
        "type": "alert.raised",
        "timestamp": alert.created_at.isoformat(),
        "data": alert_data(alert),
    }


def slack_escape(text: str) -> str:
    """Slack's three control characters (api.slack.com, "Formatting text for app surfaces")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload_slack(alert: Alert) -> dict[str, Any]:
    """Slack's incoming-webhook shape (also read by Mattermost, Rocket.Chat, Discord's /slack)."""
    link = absolute_link(alert.link)
    headline = slack_escape(f"[{alert.severity.upper()}] {alert.title}{escalated_from(alert)}")
    body = slack_escape(alert.body)
    text = f"{headline}\n{body}".strip() + (f"\n<{link}|Open>" if link else "")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*"}},
    ]
    if body:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:2900]}})
    context = f"source: {alert.source}" + (
        f" · environment: {alert.environment.key}" if alert.environment else ""
    )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    if link:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"<{link}|Open in flagsite>"}}
        )
    return {"text": text, "blocks": blocks}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer (and a failure), never a hop to another address


_opener = urllib.request.build_opener(_NoRedirects)


def webhook_send(delivery: Delivery) -> SendResult:
    channel, alert = delivery.channel, delivery.alert
    payload = (
        payload_slack(alert)
        if channel.payload_format == PayloadFormat.SLACK
        else payload_standard(alert)
    )
    return webhook_post(channel, message_id=delivery.message_id.hex, payload=payload)


def webhook_post(channel: Channel, *, message_id: str, payload: dict[str, Any]) -> SendResult:
    """POST a payload to the channel's URL, signed the Standard Webhooks way (webhook-id
    `msg_<message_id>`). Every outcome is a SendResult."""
    try:
        url = webhook_url_check(channel.url)
    except UrlRefused as exc:
        return SendResult(ok=False, error=str(exc), final=True)
    body = json.dumps(payload, separators=(",", ":")).encode()
    try:
        headers = signed_headers(channel.secret, f"msg_{message_id}", int(time.time()), body)
    except ValueError as exc:
        return SendResult(ok=False, error=str(exc), final=True)
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "flagsite-alerts/1", **headers},
    )
    try:
        with _opener.open(request, timeout=settings.FLAGSITE_ALERTS_SEND_TIMEOUT) as response:
            excerpt = response.read(EXCERPT).decode("utf-8", "replace")
            return SendResult(
                ok=200 <= response.status < 300, status_code=response.status, excerpt=excerpt
            )
    except urllib.error.HTTPError as exc:
        excerpt = exc.read(EXCERPT).decode("utf-8", "replace") if exc.fp else ""
        return SendResult(ok=False, status_code=exc.code, error=f"HTTP {exc.code}", excerpt=excerpt)
    except (OSError, ValueError) as exc:  # refused, timed out, TLS, DNS, malformed answer
        reason = getattr(exc, "reason", exc)
        return SendResult(ok=False, error=f"{type(exc).__name__}: {reason}")


def email_send(delivery: Delivery) -> SendResult:
    channel, alert = delivery.channel, delivery.alert
    link = absolute_link(alert.link)
    severity = f"Severity: {alert.severity}{escalated_from(alert)}"
    lines = [alert.body, "", severity, f"Source: {alert.source}"]
    if alert.environment:
        lines.append(f"Environment: {alert.environment.key}")
    if link:
        lines.append(f"What fired: {link}")
    return email_post(
        channel,
        subject=f"[flagsite {alert.severity}] {alert.title}",
        body="\n".join(lines).strip() + "\n",
        headers={
            "X-Flagsite-Alert": str(alert.pk),
            "Message-ID": f"<{delivery.message_id}@flagsite>",
        },
    )


def email_post(channel: Channel, *, subject: str, body: str, headers: dict[str, str]) -> SendResult:
    """Send one email to the channel's recipients through Django's backend."""
    recipients = channel.recipient_list()
    if not recipients:
        return SendResult(ok=False, error="no recipients", final=True)
    message = EmailMessage(
        subject=subject,
        body=body,
        to=recipients,
        headers=headers,
        connection=get_connection(timeout=settings.FLAGSITE_ALERTS_SEND_TIMEOUT),
    )
    try:
        message.send()
    except Exception as exc:  # smtplib.SMTPException, OSError, ...: recorded, retried
        return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}")
    return SendResult(ok=True)


def channel_send(delivery: Delivery) -> SendResult:
    if not delivery.channel.enabled:
        return SendResult(ok=False, error="channel disabled", final=True)
    if delivery.channel.kind == ChannelKind.EMAIL:
        return email_send(delivery)
    return webhook_send(delivery)
