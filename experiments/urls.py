from django.urls import path

from . import api, views

urlpatterns = [
    path("experiments/", views.experiment_list, name="experiments"),
    path("experiments/new", views.experiment_new, name="experiment_new"),
    path("experiments/power", views.experiment_power, name="experiment_power"),
    path("experiments/<slug:key>/", views.experiment_detail, name="experiment_detail"),
    path(
        "experiments/<slug:key>/results.csv",
        views.experiment_results_csv,
        name="experiment_results_csv",
    ),
    path(
        "experiments/<slug:key>/<slug:action>",
        views.experiment_action,
        name="experiment_action",
    ),
    path("api/v1/experiments", api.ExperimentListView.as_view(), name="api-experiments"),
    path("api/v1/experiments/<str:key>", api.ExperimentDetailView.as_view(), name="api-experiment"),
    path(
        "api/v1/experiments/<str:key>/results.csv",
        api.ExperimentCsvView.as_view(),
        name="api-experiment-csv",
    ),
    path(
        "api/v1/experiments/<str:key>/<str:action>",
        api.ExperimentActionView.as_view(),
        name="api-experiment-action",
    ),
]
