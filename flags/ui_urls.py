from django.urls import path, register_converter

from flagsite.converters import KeyConverter

from .views import (
    audit,
    compare,
    dashboard,
    environments,
    flag,
    history,
    rules,
    segments,
    toggle,
    tryit,
)
from .views import lifecycle as lifecycle_views
from .views import usage as usage_views
from .views import users as users_views

register_converter(KeyConverter, "key")

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("flags/new/", flag.flag_new, name="flag_new"),
    path("flags-bulk/", lifecycle_views.flags_bulk, name="flags_bulk"),
    path("flags/<key:key>/", flag.flag_detail, name="flag_detail"),
    path("flags/<key:key>/settings/", flag.flag_settings, name="flag_settings"),
    path("flags/<key:key>/lifecycle/", lifecycle_views.flag_lifecycle, name="flag_lifecycle"),
    path("flags/<key:key>/history/", history.flag_history, name="flag_history"),
    path("flags/<key:key>/activity/", history.flag_activity, name="flag_activity"),
    path("flags/<key:key>/usage/", usage_views.flag_usage_view, name="flag_usage"),
    path("flags/<key:key>/compare/", compare.flag_compare, name="flag_compare"),
    path("flags/<key:key>/copy/", compare.flag_copy, name="flag_copy"),
    path("flags/<key:key>/try/", tryit.try_it, name="flag_try"),
    path("flags/<key:key>/env/<key:env>/toggle/", toggle.toggle, name="flag_toggle"),
    path("flags/<key:key>/env/<key:env>/targeting/", rules.targeting_editor, name="targeting"),
    path(
        "flags/<key:key>/env/<key:env>/targeting/save/",
        rules.targeting_save,
        name="targeting_save",
    ),
    path("versions/<int:version_id>/rollback/", history.version_rollback, name="version_rollback"),
    path("segments/", segments.segment_list, name="segments"),
    path("segments/new/", segments.segment_new, name="segment_new"),
    path("segments/<key:key>/", segments.segment_detail, name="segment_detail"),
    path("environments/", environments.environments, name="environments"),
    path("environments/new/", environments.environment_new, name="environment_new"),
    path("keys/new/", environments.api_key_new, name="api_key_new"),
    path("keys/<int:key_id>/revoke/", environments.api_key_revoke_view, name="api_key_revoke"),
    path("audit/", audit.audit_log, name="audit"),
    path("audit/<int:event_id>/", audit.audit_detail, name="audit_detail"),
    path("users/", users_views.users, name="users"),
    path("users/new/", users_views.user_new, name="user_new"),
    path("users/<int:user_id>/role/", users_views.user_role_set, name="user_role"),
    path("users/<int:user_id>/active/", users_views.user_active_set, name="user_active"),
]
