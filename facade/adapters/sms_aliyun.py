"""Aliyun SMS (dysmsapi SendSms, API 2017-05-25) through the official SDK.

The SDK signs with ACS3-HMAC-SHA256 and lets the endpoint point anywhere (tests use a local
stand-in). Business errors arrive as HTTP 200 with a ``Code`` other than ``OK``; gateway errors
(signature, throttling) as SDK exceptions; both are sorted into the three failure reasons here.
Only error codes are reported: Aliyun's messages may echo the signed query, code included.
"""

from __future__ import annotations

import json
import threading
from urllib.parse import urlsplit

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import models as openapi_models
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ThrottlingException
from darabonba.runtime import RuntimeOptions

from facade.adapters.log_redaction import redact_urllib3_query_params
from facade.core.delivery import Channel, FailureReason, Message, SendFailure
from facade.settings_codes import AliyunSmsSettings

THROTTLED = frozenset(
    {"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL"}
)
TARGET_REJECTED = frozenset({"isv.MOBILE_NUMBER_ILLEGAL", "isv.DOMESTIC_NUMBER_NOT_SUPPORTED"})


def classify(code: str) -> FailureReason:
    if code in THROTTLED or code.startswith("Throttling"):
        return "throttled"
    if code in TARGET_REJECTED:
        return "target_rejected"
    return "provider_down"


class AliyunSms:
    """:class:`facade.core.delivery.Sender` for Aliyun; one SDK client per thread."""

    name = "aliyun"
    channel: Channel = "sms"

    def __init__(self, config: AliyunSmsSettings, timeout: float) -> None:
        self._config = config
        self._timeout_ms = int(timeout * 1000)
        self._local = threading.local()
        redact_urllib3_query_params("TemplateParam", "PhoneNumbers")

    def _client(self) -> Client:
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            endpoint = urlsplit(self._config.endpoint)
            client = Client(
                openapi_models.Config(
                    access_key_id=self._config.access_key_id,
                    access_key_secret=self._config.access_key_secret,
                    endpoint=endpoint.netloc,
                    protocol=endpoint.scheme,
                    connect_timeout=self._timeout_ms,
                    read_timeout=self._timeout_ms,
                )
            )
            self._local.client = client
        return client

    def send(self, message: Message) -> None:
        request = sms_models.SendSmsRequest(
            phone_numbers=message.target,
            sign_name=self._config.sign_name,
            template_code=self._config.template_for(message.purpose),
            template_param=json.dumps({"code": message.code}, separators=(",", ":")),
        )
        runtime = RuntimeOptions(
            autoretry=False, connect_timeout=self._timeout_ms, read_timeout=self._timeout_ms
        )
        try:
            response = self._client().send_sms_with_options(request, runtime)
        except ThrottlingException as exc:
            raise SendFailure("throttled", f"aliyun {exc.code}") from None
        except AlibabaCloudException as exc:
            raise SendFailure(classify(str(exc.code)), f"aliyun {exc.code}") from None
        except Exception as exc:  # transport errors of every kind; their text holds the URL
            raise SendFailure("provider_down", f"aliyun {type(exc).__name__}") from None
        code = str(response.body.code if response.body else "")
        if code != "OK":
            raise SendFailure(classify(code), f"aliyun {code or 'no code'}")
