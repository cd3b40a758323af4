"""The hot path's hand-rolled readers agree with what they replace (issue 14, CPU per request).

A refresh reads two tokens without checking their signatures (the refresh token, whose HMAC only
Keycloak can check, and the access token Keycloak has just answered with), and every request
body's strings are screened for control characters. Both once went character by character in
Python; the faster versions must accept and refuse exactly the same inputs.
"""

from __future__ import annotations

import base64
import json
import sys
import unicodedata

import jwt
import pytest
from pydantic_core import PydanticCustomError

from facade.adapters.keycloak import _unverified_claims
from facade.contracts.kit.fields import refuse_unsafe_text


def _segment(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


CLAIMS = {"sub": "u-1", "sid": "s-1", "typ": "Refresh", "exp": 2_000_000_000, "iat": 1}
HS256_TOKEN = jwt.encode(CLAIMS, "k" * 32, algorithm="HS256")
EMPTY = _segment(b"{}")
NOT_UTF8 = _segment(b"\xff\xfe")


def test_unverified_claims_read_what_pyjwt_reads() -> None:
    assert _unverified_claims(HS256_TOKEN) == jwt.decode(
        HS256_TOKEN, options={"verify_signature": False}
    )


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        HS256_TOKEN.rsplit(".", 1)[0],  # two segments
        HS256_TOKEN + ".x",  # four segments
        HS256_TOKEN.replace(".", ".!", 1),  # a character outside base64url in the claims
        HS256_TOKEN + "+",  # ... and in the signature (standard base64, not base64url)
        f"{EMPTY}.{_segment(b'[1, 2]')}.sig",  # claims not a JSON object
        f"{EMPTY}.{_segment(b'not json')}.sig",
        f"{EMPTY}.{_segment(json.dumps(CLAIMS).encode())}A.sig",  # length 4n+1
        f"{EMPTY}.{NOT_UTF8}.sig",
    ],
)
def test_unverified_claims_refuse_what_pyjwt_refuses(token: str) -> None:
    with pytest.raises(jwt.DecodeError):
        jwt.decode(token, options={"verify_signature": False})
    with pytest.raises(jwt.DecodeError):
        _unverified_claims(token)


def _unsafe_by_category(char: str) -> bool:
    category = unicodedata.category(char)
    return category == "Cs" or (category == "Cc" and char != "\t")


def test_unsafe_text_is_exactly_control_characters_but_tab_and_surrogates() -> None:
    """Every code point, against the rule as Unicode's categories state it."""
    disagreements = []
    for point in range(sys.maxunicode + 1):
        char = chr(point)
        try:
            refuse_unsafe_text(f"ab{char}cd")
            refused = False
        except PydanticCustomError:
            refused = True
        if refused != _unsafe_by_category(char):
            disagreements.append(hex(point))
    assert disagreements == []
