from django.urls import path

from . import api_views, channel_views, views

urlpatterns = [
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/badge/", views.alert_badge, name="alerts_badge"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert_detail"),
    path(
        "alerts/<int:alert_id>/acknowledge/",
        views.alert_acknowledge_view,
        name="alert_acknowledge",
    ),
    path("alerts/<int:alert_id>/resolve/", views.alert_resolve_view, name="alert_resolve"),
    path("alerts/channels/", channel_views.channel_list, name="alert_channels"),
    path("alerts/channels/new/", channel_views.channel_new, name="alert_channel_new"),
    path("alerts/channels/<int:channel_id>/", channel_views.channel_edit, name="alert_channel"),
    path(
        "alerts/channels/<int:channel_id>/rotate-secret/",
        channel_views.channel_secret_rotate,
        name="alert_channel_rotate",
    ),
    path(
        "alerts/channels/<int:channel_id>/test/",
        channel_views.channel_test,
        name="alert_channel_test",
    ),
    path(
        "alerts/channels/<int:channel_id>/delete/",
        channel_views.channel_delete,
        name="alert_channel_delete",
    ),
]

# The management API (docs/alerts.md, "API"). Ids are taken as text so that any id, even
# "abc", gets the API's JSON 404 (alerts.api_views.alert_get).
urlpatterns += [
    path("api/v1/alerts", api_views.AlertListView.as_view(), name="api-alerts"),
    path("api/v1/alerts/<str:pk>", api_views.AlertDetailView.as_view(), name="api-alert"),
    path(
        "api/v1/alerts/<str:pk>/acknowledge",
        api_views.AlertAcknowledgeView.as_view(),
        name="api-alert-acknowledge",
    ),
    path(
        "api/v1/alerts/<str:pk>/resolve",
        api_views.AlertResolveView.as_view(),
        name="api-alert-resolve",
    ),
]
