from django.urls import include, path

from . import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("", include("flags.api_urls")),
    path("", include("flags.ui_urls")),
]
