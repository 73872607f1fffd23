"""Channel settings: where alerts go, chosen per source and severity. Admins only
(flags.policy.require_admin): a channel sends data out of the installation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from flags.changes import Actor, audit_record
from flags.policy import require_admin
from flagsite.rendering import page

from .forms import ChannelForm
from .models import Channel, ChannelKind, Delivery, DeliveryAttempt
from .outbox import channel_test_raise
from .signing import secret_generate

RECENT_DELIVERIES = 20


def _audit(request: HttpRequest, channel: Channel, verb: str) -> None:
    audit_record(
        actor=Actor(user=request.user),
        action=f"alert_channel.{verb}",
        object_type="alert_channel",
        object_key=channel.name,
        summary=f"{verb} alert channel {channel.name} ({channel.kind})",
    )


@login_required
def channel_list(request: HttpRequest) -> HttpResponse:
    require_admin(request.user, "change where alerts are sent")
    channels = Channel.objects.prefetch_related("subscriptions").annotate(
        failed=Count("deliveries", filter=Q(deliveries__status="failed")),
        pending=Count("deliveries", filter=Q(deliveries__status__in=["pending", "sending"])),
    )
    return page(request, "alerts/channels.html", {"channels": channels})


@login_required
def channel_new(request: HttpRequest) -> HttpResponse:
    require_admin(request.user, "change where alerts are sent")
    form = ChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            channel = form.save(commit=False)
            if channel.kind == ChannelKind.WEBHOOK:
                channel.secret = secret_generate()
            channel.save()
            form.subscriptions_save(channel)
            _audit(request, channel, "created")
        messages.success(request, f"Channel {channel.name} created.")
        return redirect("alert_channel", channel_id=channel.pk)
    status = 400 if request.method == "POST" else 200
    return page(request, "alerts/channel_form.html", {"form": form}, status=status)


@login_required
def channel_edit(request: HttpRequest, channel_id: int) -> HttpResponse:
    require_admin(request.user, "change where alerts are sent")
    channel = get_object_or_404(Channel, pk=channel_id)
    form = ChannelForm(request.POST or None, instance=channel)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            channel = form.save(commit=False)
            if channel.kind == ChannelKind.WEBHOOK and not channel.secret:
                channel.secret = secret_generate()
            channel.save()
            form.subscriptions_save(channel)
            _audit(request, channel, "changed")
        messages.success(request, f"Channel {channel.name} saved.")
        return redirect("alert_channel", channel_id=channel.pk)
    deliveries = (
        Delivery.objects.filter(channel=channel)
        .select_related("alert", "digest")
        .prefetch_related(
            Prefetch("tries", queryset=DeliveryAttempt.objects.order_by("number")), "digest__tries"
        )
        .order_by("-id")[:RECENT_DELIVERIES]
    )
    context = {"form": form, "channel": channel, "deliveries": deliveries}
    status = 400 if request.method == "POST" else 200
    return page(request, "alerts/channel_form.html", context, status=status)


@login_required
@require_POST
def channel_secret_rotate(request: HttpRequest, channel_id: int) -> HttpResponse:
    require_admin(request.user, "change where alerts are sent")
    channel = get_object_or_404(Channel, pk=channel_id, kind=ChannelKind.WEBHOOK)
    channel.secret = secret_generate()
    channel.save(update_fields=["secret"])
    _audit(request, channel, "secret_rotated")
    messages.success(request, "New signing secret: update your receiver.")
    return redirect("alert_channel", channel_id=channel.pk)


@login_required
@require_POST
def channel_test(request: HttpRequest, channel_id: int) -> HttpResponse:
    require_admin(request.user, "change where alerts are sent")
    channel = get_object_or_404(Channel, pk=channel_id)
    channel_test_raise(channel=channel)
    messages.success(request, "Test alert sent: its attempts show under Recent deliveries.")
    return redirect("alert_channel", channel_id=channel.pk)


@login_required
@require_POST
def channel_delete(request: HttpRequest, channel_id: int) -> HttpResponse:
    require_admin(request.user, "change where alerts are sent")
    channel = get_object_or_404(Channel, pk=channel_id)
    _audit(request, channel, "deleted")
    channel.delete()
    messages.success(request, f"Channel {channel.name} deleted.")
    return redirect("alert_channels")
