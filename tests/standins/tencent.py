"""Tencent Cloud SMS ``SendSms`` (2021-01-11), checked the way Tencent Cloud checks it.

Verifies the TC3-HMAC-SHA256 signature (credential scope ``<date>/sms/tc3_request`` with the
date of ``X-TC-Timestamp``, signed ``content-type`` and ``host``, timestamp within 5 minutes),
the SecretId, action, version and region, then the SendSms parameters against the application
(SmsSdkAppId, sign name, templates with one parameter). Answers like Tencent: always HTTP 200
JSON, request errors as ``Response.Error`` (``AuthFailure.SignatureFailure``, ...), per-number
outcomes in ``SendStatusSet`` (``Ok``, ``LimitExceeded.PhoneNumberDailyLimit``,
``InvalidParameterValue.IncorrectPhoneNumber``, ...). ``fail_next`` scripts either kind.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from tests.standins.http import Request, Response, StandinHTTPServer

_AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$"
)
_PHONE = re.compile(r"^(\+86)?1[3-9]\d{9}$")
_REGIONS = {"ap-guangzhou", "ap-beijing", "ap-nanjing"}
_MAX_SKEW_SECONDS = 300


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def canonical_request(
    method: str, path: str, query: str, headers: dict[str, str], signed: list[str], body: bytes
) -> str:
    canonical_headers = "".join(f"{name}:{headers[name].strip().lower()}\n" for name in signed)
    return "\n".join(
        (
            method,
            path or "/",
            query,
            canonical_headers,
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        )
    )


def signature(secret_key: str, timestamp: int, service: str, canonical: str) -> str:
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    hashed = hashlib.sha256(canonical.encode()).hexdigest()
    string_to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashed}"
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SentSms:
    phone: str
    sign_name: str
    template_id: str
    params: list[str]


@dataclass(frozen=True)
class Fault:
    code: str
    where: Literal["error", "status"]


class TencentStandin:
    """The state of one SMS application: keys, app id, sign, templates, sent messages, faults."""

    def __init__(
        self, secret_id: str, secret_key: str, app_id: str, sign_name: str, templates: set[str]
    ) -> None:
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.app_id = app_id
        self.sign_name = sign_name
        self.templates = templates
        self.sent: list[SentSms] = []
        self.rejected: list[str] = []
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()

    def fail_next(
        self, code: str, *, where: Literal["error", "status"] = "status", times: int = 1
    ) -> None:
        """``status``: a per-number outcome in SendStatusSet; ``error``: a request error."""
        with self._lock:
            self._faults.extend(Fault(code, where) for _ in range(times))

    def reset(self) -> None:
        with self._lock:
            self.sent.clear()
            self.rejected.clear()
            self._faults.clear()

    def handle(self, request: Request) -> Response:
        with self._lock:
            return self._handle(request)

    def _error(self, code: str, message: str) -> Response:
        self.rejected.append(code)
        body = {
            "Response": {
                "Error": {"Code": code, "Message": message},
                "RequestId": str(uuid.uuid4()),
            }
        }
        return Response(200, body)

    def _handle(self, request: Request) -> Response:
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        try:
            params: dict[str, Any] = json.loads(request.body or b"{}")
        except json.JSONDecodeError:
            return self._error("FailedOperation.FailResolvePacket", "request body is not JSON")
        for required in ("PhoneNumberSet", "SmsSdkAppId", "TemplateId"):
            if not params.get(required):
                return self._error("MissingParameter", f"The request is missing `{required}`.")
        if params["SmsSdkAppId"] != self.app_id:
            return self._error("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId not exist.")
        fault = self._faults.popleft() if self._faults else None
        if fault is not None and fault.where == "error":
            return self._error(fault.code, "scripted by the test")
        if params.get("SignName") != self.sign_name:
            return self._error("FailedOperation.SignatureIncorrectOrUnapproved", "签名未审批")
        if params["TemplateId"] not in self.templates:
            return self._error("FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批")
        template_params = params.get("TemplateParamSet") or []
        if len(template_params) != 1 or not all(isinstance(p, str) for p in template_params):
            return self._error(
                "FailedOperation.TemplateParamSetNotMatchApprovedTemplate", "参数与模板不匹配"
            )
        statuses = []
        for phone in params["PhoneNumberSet"]:
            code, message = "Ok", "send success"
            if fault is not None:
                code, message = fault.code, "scripted by the test"
            elif not _PHONE.match(str(phone)):
                code, message = "InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误"
            if code == "Ok":
                self.sent.append(
                    SentSms(str(phone), params["SignName"], params["TemplateId"], template_params)
                )
            else:
                self.rejected.append(code)
            statuses.append(
                {
                    "SerialNo": uuid.uuid4().hex,
                    "PhoneNumber": phone,
                    "Fee": 1 if code == "Ok" else 0,
                    "SessionContext": "",
                    "Code": code,
                    "Message": message,
                    "IsoCode": "CN",
                }
            )
        body = {"Response": {"SendStatusSet": statuses, "RequestId": str(uuid.uuid4())}}
        return Response(200, body)

    def _authenticate(self, request: Request) -> Response | None:
        headers = request.headers
        if request.method != "POST" or not headers.get("content-type", "").startswith(
            "application/json"
        ):
            return self._error("InvalidParameter", "POST with application/json is required.")
        match = _AUTHORIZATION.match(headers.get("authorization", ""))
        if not match:
            return self._error("AuthFailure.InvalidAuthorization", "Authorization is invalid.")
        secret_id, date, service, signed, given = match.groups()
        if secret_id != self.secret_id:
            return self._error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        if headers.get("x-tc-action") != "SendSms":
            return self._error("InvalidAction", "The action is not found.")
        if headers.get("x-tc-version") != "2021-01-11":
            return self._error("NoSuchVersion", "The version is not supported.")
        if headers.get("x-tc-region") not in _REGIONS:
            return self._error("UnsupportedRegion", "The region is not supported.")
        try:
            timestamp = int(headers.get("x-tc-timestamp", ""))
        except ValueError:
            return self._error("InvalidParameter", "X-TC-Timestamp is invalid.")
        if abs(time.time() - timestamp) > _MAX_SKEW_SECONDS:
            return self._error("AuthFailure.SignatureExpire", "The signature has expired.")
        signed_headers = signed.split(";")
        if service != "sms" or not {"content-type", "host"} <= set(signed_headers):
            return self._error("AuthFailure.SignatureFailure", "The signature is invalid.")
        if date != datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d"):
            return self._error("AuthFailure.SignatureFailure", "The credential date is invalid.")
        if any(name not in headers for name in signed_headers):
            return self._error("AuthFailure.SignatureFailure", "A signed header is missing.")
        canonical = canonical_request(
            request.method, request.path, request.query, headers, signed_headers, request.body
        )
        expected = signature(self.secret_key, timestamp, service, canonical)
        if not hmac.compare_digest(expected, given):
            return self._error("AuthFailure.SignatureFailure", "The signature is invalid.")
        return None


def start(standin: TencentStandin) -> StandinHTTPServer:
    return StandinHTTPServer(standin.handle).start()
