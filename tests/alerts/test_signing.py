"""Standard Webhooks signatures: the published test vector, and our secrets."""

from __future__ import annotations

import pytest

from alerts.signing import secret_generate, secret_key, signature, signed_headers

from .receivers import standard_webhooks_verify


def test_it_reproduces_the_published_standard_webhooks_vector() -> None:
    # From the Standard Webhooks / Svix reference libraries' tests.
    assert (
        signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_generated_secrets_sign_what_the_independent_verifier_accepts() -> None:
    import time

    secret = secret_generate()
    assert secret.startswith("whsec_") and len(secret_key(secret)) == 32
    body = b'{"a":1}'
    headers = signed_headers(secret, "msg_1", int(time.time()), body)
    assert standard_webhooks_verify(secret, headers, body)
    assert not standard_webhooks_verify(secret, headers, b'{"a":2}')
    assert not standard_webhooks_verify(secret_generate(), headers, body)


@pytest.mark.parametrize("bad", ["whsec_not base64!", "whsec_", "whsec_c2hvcnQ="])
def test_malformed_secrets_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        secret_key(bad)
