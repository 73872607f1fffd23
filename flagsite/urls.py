from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from flagsite.login import LoginView, ThrottledAdminAuthenticationForm

# The admin's login is throttled like the UI's (flagsite/login.py).
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("django-admin/", admin.site.urls),
    path("", include("delivery.urls")),
    path("", include("flags.urls")),
    path("", include("feedback.urls")),
    path("", include("experiments.urls")),
    path("", include("imports.urls")),
    path("", include("costs.urls")),
    path("", include("releases.urls")),
    path("", include("alerts.urls")),
]

# The 403 page shows the user's real role in the header (flagsite.rendering.page adds it).
handler403 = "flagsite.rendering.permission_denied"
