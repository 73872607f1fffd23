from django.urls import path

from . import channel_views, views

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
        "alerts/channels/<int:channel_id>/delete/",
        channel_views.channel_delete,
        name="alert_channel_delete",
    ),
]
