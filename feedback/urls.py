from django.urls import path
from django.views.generic import RedirectView

from . import api
from .views import inbox, widget

urlpatterns = [
    path("api/v1/events", api.events_api, name="api_events"),
    path("api/v1/feedback", api.feedback_api, name="api_feedback"),
    path("feedback/", inbox.feedback_inbox, name="feedback_inbox"),
    path("feedback/export.csv", inbox.feedback_export, name="feedback_export"),
    path("feedback/<int:pk>/triage", inbox.feedback_triage_view, name="feedback_triage"),
    # The price table moved to the costs app; old links keep working.
    path("feedback/prices/", RedirectView.as_view(pattern_name="costs_prices")),
    path("feedback/widget.js", widget.widget_js, name="feedback_widget_js"),
    path("feedback/widget.css", widget.widget_css, name="feedback_widget_css"),
    path("feedback/demo/", widget.widget_demo, name="feedback_demo"),
]
