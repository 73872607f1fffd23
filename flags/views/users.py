"""Users and roles (admins only)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from flags.changes import audit_record
from flags.forms import RoleForm, UserCreateForm
from flags.models import Role, UserProfile, user_role
from flags.policy import require_admin

from ._common import actor, page


def _context(create_form: UserCreateForm | None = None) -> dict[str, object]:
    users = get_user_model().objects.select_related("flagsite_profile").order_by("username")
    return {
        "users": [(u, user_role(u)) for u in users],
        "roles": Role.choices,
        "create_form": create_form or UserCreateForm(),
    }


@login_required
def users(request: HttpRequest) -> HttpResponse:
    require_admin(request.user)
    return page(request, "users/list.html", _context())


@login_required
@require_POST
def user_role_set(request: HttpRequest, user_id: int) -> HttpResponse:
    require_admin(request.user)
    user = get_object_or_404(get_user_model(), pk=user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role.")
        return redirect("users")
    if user == request.user and form.cleaned_data["role"] != Role.ADMIN:
        messages.error(request, "You cannot remove your own admin role.")
        return redirect("users")
    before = user_role(user)
    UserProfile.objects.update_or_create(user=user, defaults={"role": form.cleaned_data["role"]})
    audit_record(
        actor=actor(request),
        action="user.role_changed",
        object_type="user",
        object_key=user.get_username(),
        summary=f"{user.get_username()}: {before} -> {form.cleaned_data['role']}",
    )
    messages.success(request, f"{user.get_username()} is now {form.cleaned_data['role']}.")
    return redirect("users")


@login_required
@require_POST
def user_new(request: HttpRequest) -> HttpResponse:
    require_admin(request.user)
    form = UserCreateForm(request.POST)
    if not form.is_valid():
        return page(request, "users/list.html", _context(form), status=400)
    data = form.cleaned_data
    user = get_user_model().objects.create_user(data["username"], password=data["password"])
    UserProfile.objects.create(user=user, role=data["role"])
    audit_record(
        actor=actor(request),
        action="user.created",
        object_type="user",
        object_key=user.get_username(),
        summary=f"created user {user.get_username()} ({data['role']})",
    )
    messages.success(request, f"Created {user.get_username()}.")
    return redirect("users")


@login_required
@require_POST
def user_active_set(request: HttpRequest, user_id: int) -> HttpResponse:
    """Deactivate (active=0) or reactivate (active=1) a user: a deactivated user cannot log in,
    their sessions and API tokens stop working, and everything they did stays in the history."""
    require_admin(request.user)
    user = get_object_or_404(get_user_model(), pk=user_id)
    value = request.POST.get("active", "")
    if value not in ("0", "1"):
        return HttpResponse("active: must be 0 or 1.", status=400, content_type="text/plain")
    active = value == "1"
    if user == request.user and not active:
        messages.error(request, "You cannot deactivate yourself.")
        return redirect("users")
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit_record(
            actor=actor(request),
            action="user.reactivated" if active else "user.deactivated",
            object_type="user",
            object_key=user.get_username(),
            summary=f"{'reactivated' if active else 'deactivated'} {user.get_username()}",
        )
    state = "active" if active else "deactivated"
    messages.success(request, f"{user.get_username()} is {state}.")
    return redirect("users")
