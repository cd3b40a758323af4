"""Session-wide provider stand-ins, with per-test fixtures that hand them over clean.

Imported by ``tests/conftest.py`` so that any test can ask for ``aliyun``, ``tencent`` or
``smtp`` (the stand-in's state) and ``*_url`` / ports to configure a sender against it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from facade.settings_codes import AliyunSmsSettings, SmtpSettings, TencentSmsSettings
from tests.standins import aliyun as aliyun_standin
from tests.standins import tencent as tencent_standin
from tests.standins.smtp import SmtpStandin

ALIYUN_KEY_ID = "LTAI5tFacadeTestKeyId"
ALIYUN_KEY_SECRET = "facade-test-aliyun-secret"
ALIYUN_SIGN = "门面测试"
ALIYUN_TEMPLATES = {"login": "SMS_100001", "register": "SMS_100002", "default": "SMS_100000"}
TENCENT_SECRET_ID = "AKIDfacadetestsecretid"
TENCENT_SECRET_KEY = "facade-test-tencent-key"
TENCENT_APP_ID = "1400000001"
TENCENT_SIGN = "门面测试"
TENCENT_TEMPLATES = {"login": "200001", "register": "200002", "default": "200000"}
SMTP_USER = "mailer@example.com"
SMTP_PASSWORD = "facade-test-smtp-password"


def aliyun_config(url: str, **changes: object) -> AliyunSmsSettings:
    config = AliyunSmsSettings(
        sign_name=ALIYUN_SIGN,
        templates=ALIYUN_TEMPLATES,
        access_key_id=ALIYUN_KEY_ID,
        access_key_secret=ALIYUN_KEY_SECRET,
        endpoint=url,
    )
    return replace(config, **changes)  # type: ignore[arg-type]


def tencent_config(url: str, **changes: object) -> TencentSmsSettings:
    config = TencentSmsSettings(
        sign_name=TENCENT_SIGN,
        templates=TENCENT_TEMPLATES,
        secret_id=TENCENT_SECRET_ID,
        secret_key=TENCENT_SECRET_KEY,
        app_id=TENCENT_APP_ID,
        endpoint=url,
    )
    return replace(config, **changes)  # type: ignore[arg-type]


def smtp_config(server: SmtpStandin, security: str = "starttls", **changes: object) -> SmtpSettings:
    port = server.tls_port if security == "tls" else server.starttls_port
    config = SmtpSettings(
        "127.0.0.1",
        port,
        security,
        "门面 <no-reply@example.com>",
        SMTP_USER,
        SMTP_PASSWORD,  # type: ignore[arg-type]
    )
    return replace(config, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def aliyun_server() -> Iterator[tuple[aliyun_standin.AliyunStandin, str]]:
    state = aliyun_standin.AliyunStandin(
        ALIYUN_KEY_ID, ALIYUN_KEY_SECRET, ALIYUN_SIGN, set(ALIYUN_TEMPLATES.values())
    )
    server = aliyun_standin.start(state)
    yield state, server.url
    server.stop()


@pytest.fixture(scope="session")
def tencent_server() -> Iterator[tuple[tencent_standin.TencentStandin, str]]:
    state = tencent_standin.TencentStandin(
        TENCENT_SECRET_ID,
        TENCENT_SECRET_KEY,
        TENCENT_APP_ID,
        TENCENT_SIGN,
        set(TENCENT_TEMPLATES.values()),
    )
    server = tencent_standin.start(state)
    yield state, server.url
    server.stop()


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpStandin]:
    server = SmtpStandin(tmp_path_factory.mktemp("smtp"), SMTP_USER, SMTP_PASSWORD).start()
    yield server
    server.stop()


@pytest.fixture
def aliyun(
    aliyun_server: tuple[aliyun_standin.AliyunStandin, str],
) -> Iterator[aliyun_standin.AliyunStandin]:
    state, _ = aliyun_server
    state.reset()
    yield state
    state.reset()


@pytest.fixture
def tencent(
    tencent_server: tuple[tencent_standin.TencentStandin, str],
) -> Iterator[tencent_standin.TencentStandin]:
    state, _ = tencent_server
    state.reset()
    yield state
    state.reset()


@pytest.fixture
def smtp(smtp_server: SmtpStandin) -> Iterator[SmtpStandin]:
    smtp_server.reset()
    yield smtp_server
    smtp_server.reset()
