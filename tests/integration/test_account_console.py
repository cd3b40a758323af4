"""Keycloak's own account console works for a user of the realm (no contract client displaces it).

Signs in the way the console's page does: authorization code with PKCE for the public client
``account-console``, then reads the account REST API the console is built on.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from urllib.parse import parse_qs, urlparse

import requests

from facade.core.models import NewUser
from tests.conftest import random_username

PASSWORD = "Console123"


def test_a_user_signs_in_to_the_account_console(keycloak, gateway):
    username = random_username("console")
    gateway.create_user(
        NewUser(username=username, password=PASSWORD, email=f"{username}@example.com")
    )
    realm = f"{keycloak.url}/realms/facade"
    redirect_uri = f"{realm}/account/"
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")

    browser = requests.Session()
    console = browser.get(redirect_uri, timeout=10)
    assert console.status_code == 200, console.text[:300]
    assert "client not found" not in console.text.lower()

    login_page = browser.get(
        f"{realm}/protocol/openid-connect/auth",
        params={
            "client_id": "account-console",
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "openid",
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
            "state": secrets.token_hex(8),
        },
        timeout=10,
    )
    assert login_page.status_code == 200, login_page.text[:300]
    action = html.unescape(
        re.search(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', login_page.text).group(1)
    )

    for (
        cookie
    ) in browser.cookies:  # Keycloak marks them Secure; a browser on localhost still sends them
        cookie.secure = False
    signed_in = browser.post(
        action, data={"username": username, "password": PASSWORD}, allow_redirects=False, timeout=10
    )
    assert signed_in.status_code == 302, re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", signed_in.text)
    )[-1500:]
    location = signed_in.headers["Location"]
    assert location.startswith(redirect_uri)
    code = parse_qs(urlparse(location).query)["code"][0]

    tokens = requests.post(
        f"{realm}/protocol/openid-connect/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "account-console",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert tokens.status_code == 200, tokens.text
    account = requests.get(
        f"{realm}/account/",
        headers={
            "Authorization": f"Bearer {tokens.json()['access_token']}",
            "Accept": "application/json",
        },
        timeout=10,
    )
    assert account.status_code == 200, account.text
    assert account.json()["username"] == username
