"""Production defaults with DEBUG off: Secure cookies, HSTS, the redirect to https, the
Content-Security-Policy, and `manage.py check --deploy` clean with the documented settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings

from flagsite.security import DEFAULT_POLICY, ContentSecurityPolicyMiddleware

ROOT = Path(__file__).resolve().parents[2]

# The production environment exactly as docs/operations.md ("Production settings") lists it.
DOCUMENTED_PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "Zx8q" + "k3P9mW2vR7tY5uJ1nB4cL6hG0fD8sA2eQ9wX3zV7bN5mK1jH4gF6dS8aP0oI2uY",
    "ALLOWED_HOSTS": "flags.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://flags.example.com",
    "FLAGSITE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "DATABASE_URL": "postgres://flagsite:secret@db.internal:5432/flagsite",
    "REDIS_URL": "redis://redis.internal:6379/0",
}

# Variables a developer's shell or scripts/test.sh may set, which must not leak into the checks.
_STRIPPED = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "FLAGSITE_HTTPS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "FLAGSITE_CSP",
    "FLAGSITE_PROXY_SSL_HEADER",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser fixture in this process
)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _STRIPPED}
    return (
        env
        | {
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'sdk'}",
            "FLAGSITE_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "flagsite.settings",
        }
        | extra
    )


def _settings(tmp_path: Path, **env: str) -> dict[str, Any]:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k, None) for k in ("
        "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_SSL_REDIRECT', "
        "'SECURE_HSTS_SECONDS', 'SECURE_PROXY_SSL_HEADER', 'FLAGSITE_CSP')}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(tmp_path, **env),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_check_deploy_passes_with_the_documented_settings(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        env=_env(tmp_path, **DOCUMENTED_PRODUCTION_ENV),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNING" not in output


def test_debug_off_means_https_everything(tmp_path: Path) -> None:
    values = _settings(tmp_path, **DOCUMENTED_PRODUCTION_ENV)
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["FLAGSITE_CSP"] == DEFAULT_POLICY


def test_a_plain_http_lab_turns_https_off_with_one_variable(tmp_path: Path) -> None:
    values = _settings(tmp_path, **DOCUMENTED_PRODUCTION_ENV, FLAGSITE_HTTPS="false")
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is False
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    # The CSP does not depend on https.
    assert values["FLAGSITE_CSP"] == DEFAULT_POLICY


@override_settings(
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
    SECURE_HSTS_SECONDS=31_536_000,
    SECURE_SSL_REDIRECT=True,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
)
def test_behind_the_proxy_cookies_are_secure_and_hsts_is_sent(
    client: Client, admin_user: Any
) -> None:
    https = {"X-Forwarded-Proto": "https"}
    # Plain http is redirected to https (the load balancer's probe excepted).
    assert client.get("/login/").status_code == 301
    assert client.get("/healthz").status_code != 301
    page = client.get("/login/", headers=https)
    assert page.status_code == 200
    assert page["Strict-Transport-Security"].startswith("max-age=31536000")
    assert page["Content-Security-Policy"] == DEFAULT_POLICY
    assert page.cookies["csrftoken"]["secure"] is True
    signed_in = client.post("/login/", {"username": "alice", "password": "pw-alice"}, headers=https)
    assert signed_in.status_code == 302
    assert signed_in.cookies["sessionid"]["secure"] is True
    assert signed_in.cookies["sessionid"]["httponly"] is True


def _through_middleware(response: HttpResponse) -> HttpResponse:
    return ContentSecurityPolicyMiddleware(lambda request: response)(RequestFactory().get("/"))


def test_the_policy_is_set_unless_a_view_set_its_own() -> None:
    assert _through_middleware(HttpResponse("x"))["Content-Security-Policy"] == DEFAULT_POLICY
    own = HttpResponse("x", headers={"Content-Security-Policy": "default-src 'none'"})
    assert _through_middleware(own)["Content-Security-Policy"] == "default-src 'none'"


@override_settings(FLAGSITE_CSP_REPORT_ONLY=True)
def test_report_only_mode_for_a_trial() -> None:
    response = _through_middleware(HttpResponse("x"))
    assert response["Content-Security-Policy-Report-Only"] == DEFAULT_POLICY
    assert "Content-Security-Policy" not in response


@override_settings(FLAGSITE_CSP="")
def test_an_empty_policy_turns_the_header_off() -> None:
    assert "Content-Security-Policy" not in _through_middleware(HttpResponse("x"))
