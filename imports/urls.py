from django.urls import path

from . import api, views

urlpatterns = [
    path("imports/unleash/", views.import_new, name="import_new"),
    path("imports/<uuid:token>/", views.import_detail, name="import_detail"),
    path("imports/<uuid:token>/apply/", views.import_apply, name="import_apply"),
    # The management API (docs/api.md, "Importing from Unleash"). Tokens are taken as text so
    # that any token, even "abc", gets the API's JSON 404.
    path("api/v1/imports/unleash", api.ImportCreateView.as_view(), name="api-import-create"),
    path("api/v1/imports/<str:token>", api.ImportDetailView.as_view(), name="api-import"),
    path(
        "api/v1/imports/<str:token>/apply", api.ImportApplyView.as_view(), name="api-import-apply"
    ),
]
