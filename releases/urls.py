from django.urls import path

import flags.api_urls  # noqa: F401  (registers the <sint:…> converter)

from . import api, views, views_plan_form, views_scheduled

urlpatterns = [
    path(
        "api/v1/flags/<str:key>/environments/<str:env>/rollouts",
        api.PlanListView.as_view(),
        name="api-rollouts",
    ),
    path("api/v1/rollouts/<sint:pk>", api.PlanDetailView.as_view(), name="api-rollout"),
    path(
        "api/v1/rollouts/<sint:pk>/<str:action>",
        api.PlanActionView.as_view(),
        name="api-rollout-action",
    ),
    path(
        "api/v1/flags/<str:key>/environments/<str:env>/scheduled-changes",
        api.ScheduledListView.as_view(),
        name="api-scheduled-changes",
    ),
    path(
        "api/v1/scheduled-changes/<sint:pk>/cancel",
        api.ScheduledCancelView.as_view(),
        name="api-scheduled-change-cancel",
    ),
    path(
        "flags/<key:key>/scheduled-changes/new/",
        views_scheduled.scheduled_new,
        name="scheduled_new",
    ),
    path("scheduled-changes/<int:pk>/cancel/", views.scheduled_cancel, name="scheduled_cancel"),
    path(
        "flags/<key:key>/bluegreen/<key:env>/",
        views.bluegreen_switch_view,
        name="bluegreen_switch",
    ),
    path("flags/<key:key>/rollouts/", views.flag_rollouts, name="flag_rollouts"),
    path("flags/<key:key>/rollouts/new/", views_plan_form.rollout_new, name="rollout_new"),
    path("rollouts/<int:pk>/edit/", views_plan_form.rollout_edit, name="rollout_edit"),
    path("rollouts/<int:pk>/<str:action>/", views.rollout_action, name="rollout_action"),
    path("rollouts/", views.rollouts_dashboard, name="rollouts_dashboard"),
]
