"""The real URLconf plus /bench/minimal: a Django view returning fixed JSON through the same
middleware, the baseline the API's throughput is compared with."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def minimal(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, "flags": {"a": 1}})


urlpatterns = [
    path("bench/minimal", minimal),
    path("", include("flagsite.urls")),
]
