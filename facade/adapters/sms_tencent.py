"""Tencent Cloud SMS (SendSms, API 2021-01-11) through the official SDK.

The SDK signs with TC3-HMAC-SHA256 and takes a custom endpoint and scheme (tests use a local
stand-in). Request-level errors (signature, parameters, API throttling) raise
``TencentCloudSDKException``; per-number outcomes (daily limit, bad number) come back in
``SendStatusSet`` with a ``Code`` other than ``Ok``. Only codes are reported, never messages.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models as sms_models
from tencentcloud.sms.v20210111.sms_client import SmsClient

from facade.core.delivery import Channel, FailureReason, Message, SendFailure
from facade.settings_codes import TencentSmsSettings

TARGET_REJECTED = frozenset(
    {"InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.PhoneNumberInBlacklist"}
)


def classify(code: str) -> FailureReason:
    if code.startswith("LimitExceeded.") or code == "RequestLimitExceeded":
        return "throttled"
    if code in TARGET_REJECTED:
        return "target_rejected"
    return "provider_down"


class TencentSms:
    """:class:`facade.core.delivery.Sender` for Tencent Cloud; one SDK client per thread."""

    name = "tencent"
    channel: Channel = "sms"

    def __init__(self, config: TencentSmsSettings, timeout: float) -> None:
        self._config = config
        self._timeout = max(1, round(timeout))
        self._local = threading.local()
        # The SDK logs whole request bodies (the code's template parameter) at DEBUG.
        logging.getLogger("tencentcloud_sdk_common").setLevel(logging.WARNING)

    def _client(self) -> SmsClient:
        client: SmsClient | None = getattr(self._local, "client", None)
        if client is None:
            endpoint = urlsplit(self._config.endpoint)
            profile = ClientProfile(
                httpProfile=HttpProfile(
                    protocol=endpoint.scheme, endpoint=endpoint.netloc, reqTimeout=self._timeout
                )
            )
            client = SmsClient(
                credential.Credential(self._config.secret_id, self._config.secret_key),
                self._config.region,
                profile,
            )
            self._local.client = client
        return client

    def send(self, message: Message) -> None:
        request = sms_models.SendSmsRequest()
        request.PhoneNumberSet = [f"+86{message.target}"]
        request.SmsSdkAppId = self._config.app_id
        request.SignName = self._config.sign_name
        request.TemplateId = self._config.template_for(message.purpose)
        request.TemplateParamSet = [message.code]
        try:
            response = self._client().SendSms(request)
        except TencentCloudSDKException as exc:
            code = str(exc.get_code())
            raise SendFailure(classify(code), f"tencent {code}") from None
        except Exception as exc:  # anything else the transport raises
            raise SendFailure("provider_down", f"tencent {type(exc).__name__}") from None
        statuses = response.SendStatusSet or []
        code = str(statuses[0].Code) if statuses else ""
        if code != "Ok":
            raise SendFailure(classify(code), f"tencent {code or 'no status'}")
