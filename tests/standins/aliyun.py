"""Aliyun dysmsapi ``SendSms`` (2017-05-25), checked the way Aliyun checks it.

Verifies the V3 signature (ACS3-HMAC-SHA256: canonical request, signed headers covering host and
every ``x-acs-*`` header, payload hash, timestamp within 15 minutes, nonce used once), the access
key, the action and version, then the SendSms parameters against the account's sign name and
templates. Answers like Aliyun: gateway errors with an HTTP 4xx/5xx JSON body, business errors
with HTTP 200 and a ``Code`` other than ``OK`` (``isv.BUSINESS_LIMIT_CONTROL``,
``isv.MOBILE_NUMBER_ILLEGAL``, ...). ``fail_next`` scripts errors for the next requests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

from tests.standins.http import Request, Response, StandinHTTPServer

ALGORITHM = "ACS3-HMAC-SHA256"
_AUTHORIZATION = re.compile(
    r"^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$"
)
_PHONE = re.compile(r"^(\+?86)?1[3-9]\d{9}$")
_MAX_SKEW_SECONDS = 15 * 60


def percent_encode(value: str) -> str:
    """RFC 3986, as the V3 signature wants it: only ``A-Za-z0-9-_.~`` stay as they are."""
    return quote(value, safe="-_.~")


def canonical_request(
    method: str,
    path: str,
    params: list[tuple[str, str]],
    headers: dict[str, str],
    signed_headers: list[str],
    payload_sha256: str,
) -> str:
    query = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params, key=lambda kv: kv[0])
    )
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in signed_headers)
    return "\n".join(
        (
            method.upper(),
            path or "/",
            query,
            canonical_headers,
            ";".join(signed_headers),
            payload_sha256,
        )
    )


def signature(secret: str, canonical: str) -> str:
    string_to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SentSms:
    phone: str
    sign_name: str
    template: str
    params: dict[str, str]


@dataclass(frozen=True)
class Fault:
    code: str
    status: int = 200


class AliyunStandin:
    """The state of one Aliyun account: keys, sign name, templates, sent messages, faults."""

    def __init__(
        self, access_key_id: str, access_key_secret: str, sign_name: str, templates: set[str]
    ) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.templates = templates
        self.sent: list[SentSms] = []
        self.rejected: list[str] = []
        self._faults: deque[Fault] = deque()
        self._nonces: set[str] = set()
        self._lock = threading.Lock()

    def fail_next(self, code: str, *, times: int = 1, status: int = 200) -> None:
        with self._lock:
            self._faults.extend(Fault(code, status) for _ in range(times))

    def reset(self) -> None:
        with self._lock:
            self.sent.clear()
            self.rejected.clear()
            self._faults.clear()

    def handle(self, request: Request) -> Response:
        with self._lock:
            response = self._handle(request)
            code = response.body.get("Code")
            if code != "OK":
                self.rejected.append(str(code))
            return response

    def _error(self, status: int, code: str, message: str) -> Response:
        body = {"Code": code, "Message": message, "RequestId": str(uuid.uuid4()).upper()}
        return Response(status, body)

    def _handle(self, request: Request) -> Response:
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        params = dict(parse_qsl(request.query, keep_blank_values=True))
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(request.body.decode(), keep_blank_values=True))
        for required in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(required):
                return self._error(400, f"Missing{required}", f"{required} is mandatory.")
        if self._faults:
            fault = self._faults.popleft()
            return self._error(fault.status, fault.code, "scripted by the test")
        if params["SignName"] != self.sign_name:
            return self._error(200, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        if params["TemplateCode"] not in self.templates:
            return self._error(200, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            template_params = json.loads(params.get("TemplateParam") or "{}")
        except json.JSONDecodeError:
            return self._error(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if not isinstance(template_params, dict) or not isinstance(
            template_params.get("code"), str
        ):
            return self._error(200, "isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量")
        phones = params["PhoneNumbers"].split(",")
        if not all(_PHONE.match(phone) for phone in phones):
            return self._error(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        for phone in phones:
            self.sent.append(
                SentSms(phone, params["SignName"], params["TemplateCode"], template_params)
            )
        body = {
            "Code": "OK",
            "Message": "OK",
            "BizId": uuid.uuid4().hex[:20],
            "RequestId": str(uuid.uuid4()).upper(),
        }
        return Response(200, body)

    def _authenticate(self, request: Request) -> Response | None:
        headers = request.headers
        match = _AUTHORIZATION.match(headers.get("authorization", ""))
        if not match:
            return self._error(400, "IncompleteSignature", "The request signature is incomplete.")
        key_id, signed, given = match.groups()
        if key_id != self.access_key_id:
            return self._error(404, "InvalidAccessKeyId.NotFound", "AccessKeyId is not found.")
        if headers.get("x-acs-action") != "SendSms":
            return self._error(404, "InvalidAction.NotFound", "Specified api is not found.")
        if headers.get("x-acs-version") != "2017-05-25":
            return self._error(400, "InvalidVersion", "Specified parameter Version is not valid.")
        try:
            sent_at = datetime.strptime(headers.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            return self._error(400, "InvalidTimeStamp.Format", "x-acs-date is not valid.")
        skew = abs(datetime.now(UTC).replace(tzinfo=None) - sent_at).total_seconds()
        if skew > _MAX_SKEW_SECONDS:
            return self._error(400, "InvalidTimeStamp.Expired", "x-acs-date is expired.")
        nonce = headers.get("x-acs-signature-nonce", "")
        if not nonce or nonce in self._nonces:
            return self._error(
                400, "SignatureNonceUsed", "The request signature nonce has been used."
            )
        payload_hash = hashlib.sha256(request.body).hexdigest()
        if headers.get("x-acs-content-sha256") != payload_hash:
            return self._error(400, "SignatureDoesNotMatch", "x-acs-content-sha256 does not match.")
        signed_headers = signed.split(";")
        must_sign = {"host"} | {name for name in headers if name.startswith("x-acs-")}
        if "content-type" in headers:
            must_sign.add("content-type")
        if not must_sign <= set(signed_headers) or signed_headers != sorted(signed_headers):
            return self._error(400, "IncompleteSignature", "Some headers are not signed.")
        if any(name not in headers for name in signed_headers):
            return self._error(400, "IncompleteSignature", "A signed header is missing.")
        params = parse_qsl(request.query, keep_blank_values=True)
        canonical = canonical_request(
            request.method, request.path, params, headers, signed_headers, payload_hash
        )
        if not hmac.compare_digest(signature(self.access_key_secret, canonical), given):
            return self._error(
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation.",
            )
        self._nonces.add(nonce)
        return None


def start(standin: AliyunStandin) -> StandinHTTPServer:
    return StandinHTTPServer(standin.handle).start()
