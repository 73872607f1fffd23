from django.urls import path

from . import api, api_metrics, views, views_guardrails, views_metrics

urlpatterns = [
    path("metrics/", views_metrics.metric_list, name="metrics"),
    path("metrics/new", views_metrics.metric_new, name="metric_new"),
    path("metrics/preview", views_metrics.metric_preview_view, name="metric_preview"),
    path("metrics/<slug:key>/", views_metrics.metric_edit, name="metric_edit"),
    path("metrics/<slug:key>/<slug:action>", views_metrics.metric_archive, name="metric_archive"),
    path("api/v1/metrics", api_metrics.MetricListView.as_view(), name="api-metrics"),
    path("api/v1/metrics/<str:key>", api_metrics.MetricDetailView.as_view(), name="api-metric"),
    path(
        "api/v1/metrics/<str:key>/<str:action>",
        api_metrics.MetricArchiveView.as_view(),
        name="api-metric-action",
    ),
    path("experiments/", views.experiment_list, name="experiments"),
    path("experiments/new", views.experiment_new, name="experiment_new"),
    path("experiments/power", views.experiment_power, name="experiment_power"),
    path("experiments/<slug:key>/", views.experiment_detail, name="experiment_detail"),
    path(
        "experiments/<slug:key>/guardrails",
        views_guardrails.experiment_guardrails,
        name="experiment_guardrails",
    ),
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
