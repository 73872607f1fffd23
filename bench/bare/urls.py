from django.http import HttpRequest, HttpResponse
from django.urls import path

BODY = b'{"ok":true,"flags":{"a":1,"b":0},"user":"bench"}'
assert len(BODY) == 48


def fixed(request: HttpRequest) -> HttpResponse:
    return HttpResponse(BODY, content_type="application/json")


urlpatterns = [path("", fixed)]
