"""The Standard Webhooks signature and secret format."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlpd.sinks.formats import parse_webhook_secret, webhook_signature


def test_the_specifications_published_example() -> None:
    # The example of the Standard Webhooks specification (and of its reference libraries).
    key = parse_webhook_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    signature = webhook_signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                  b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@given(secret=st.binary(min_size=1, max_size=64), msg_id=st.text(max_size=40),
       timestamp=st.integers(0, 2**40), body=st.binary(max_size=200))
def test_matches_an_independent_hmac(secret: bytes, msg_id: str, timestamp: int,
                                     body: bytes) -> None:
    expected = hmac.new(secret, msg_id.encode() + b"." + str(timestamp).encode() + b"." + body,
                        hashlib.sha256).digest()
    signature = webhook_signature(secret, msg_id, timestamp, body)
    version, _, encoded = signature.partition(",")
    assert version == "v1"
    assert base64.b64decode(encoded) == expected


@pytest.mark.parametrize(("text", "key"), [
    ("whsec_" + base64.b64encode(b"\x00\x01secret").decode(), b"\x00\x01secret"),
    ("plain shared secret", b"plain shared secret"),
    ("pässwörd", "pässwörd".encode()),
    ("WHSEC_notbase64!", b"WHSEC_notbase64!"),  # only the exact prefix means base64
])
def test_parse_secret(text: str, key: bytes) -> None:
    assert parse_webhook_secret(text) == key


@pytest.mark.parametrize("text", ["whsec_not base64!", "whsec_", "whsec_YWJ"])
def test_bad_whsec_secrets(text: str) -> None:
    with pytest.raises(ValueError, match="whsec_"):
        parse_webhook_secret(text)
