from django.urls import path

from . import views

urlpatterns = [
    path("imports/unleash/", views.import_new, name="import_new"),
    path("imports/<uuid:token>/", views.import_detail, name="import_detail"),
    path("imports/<uuid:token>/apply/", views.import_apply, name="import_apply"),
]
