"""The management API (session or personal token) and the OpenAPI schema. The delivery
endpoints (API keys: ruleset, evaluate, OFREP) are in delivery/urls.py."""

from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from flags.api import manage_flags, manage_other


class SignedIntConverter:
    """Like <int:…> but also matches negative numbers, so that /tokens/-1 reaches the view and
    gets the API's JSON 404 instead of Django's HTML one."""

    regex = "-?[0-9]+"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(SignedIntConverter, "sint")

urlpatterns = [
    # Management: people and scripts.
    path(
        "api/v1/environments", manage_other.EnvironmentListView.as_view(), name="api-environments"
    ),
    path("api/v1/flags", manage_flags.FlagListView.as_view(), name="api-flags"),
    path("api/v1/flags/<str:key>", manage_flags.FlagDetailView.as_view(), name="api-flag"),
    path(
        "api/v1/flags/<str:key>/variants",
        manage_flags.VariantsView.as_view(),
        name="api-flag-variants",
    ),
    path(
        "api/v1/flags/<str:key>/versions",
        manage_flags.FlagVersionsView.as_view(),
        name="api-flag-versions",
    ),
    path(
        "api/v1/flags/<str:key>/environments/<str:env>",
        manage_flags.ConfigView.as_view(),
        name="api-flag-config",
    ),
    path(
        "api/v1/flags/<str:key>/environments/<str:env>/rules",
        manage_flags.RulesView.as_view(),
        name="api-flag-rules",
    ),
    path(
        "api/v1/flags/<str:key>/environments/<str:env>/toggle",
        manage_flags.ToggleView.as_view(),
        name="api-flag-toggle",
    ),
    path("api/v1/segments", manage_other.SegmentListView.as_view(), name="api-segments"),
    path("api/v1/segments/<str:key>", manage_other.SegmentDetailView.as_view(), name="api-segment"),
    path(
        "api/v1/segments/<str:key>/versions",
        manage_other.SegmentVersionsView.as_view(),
        name="api-segment-versions",
    ),
    path(
        "api/v1/versions/<sint:pk>/rollback",
        manage_other.VersionRollbackView.as_view(),
        name="api-version-rollback",
    ),
    path("api/v1/tokens", manage_other.TokenListView.as_view(), name="api-tokens"),
    path("api/v1/tokens/<sint:pk>", manage_other.TokenDetailView.as_view(), name="api-token"),
    # OpenAPI 3 schema and Swagger UI (assets from drf-spectacular-sidecar, no CDN; no Redoc:
    # its page loads Google Fonts).
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
