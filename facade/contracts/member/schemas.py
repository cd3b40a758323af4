"""Request bodies of member.md, parsed into plain values or an ``InvalidInput``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from facade.core.errors import InvalidInput
from facade.http.body import optional_int, optional_str, required_str

CODE_TYPES = ("login", "bind")
_SIX_DIGITS = re.compile(r"^[0-9]{6}$")


@dataclass(frozen=True)
class SmsSend:
    phone: str
    code_type: str


@dataclass(frozen=True)
class SmsLogin:
    phone: str
    code: str
    invite_code: str | None


@dataclass(frozen=True)
class WechatLogin:
    code: str
    nickname: str | None
    avatar: str | None
    gender: int | None
    invite_code: str | None


@dataclass(frozen=True)
class BindPhone:
    phone: str
    code: str


def sms_send(body: dict[str, Any]) -> SmsSend:
    phone = required_str(body, "phone")
    code_type = required_str(body, "code_type")
    if code_type not in CODE_TYPES:
        raise InvalidInput("code_type", f"must be one of {', '.join(CODE_TYPES)}")
    return SmsSend(phone, code_type)


def sms_login(body: dict[str, Any]) -> SmsLogin:
    return SmsLogin(
        phone=required_str(body, "phone"),
        code=_code(body),
        invite_code=_invite_code(body),
    )


def wechat_login(body: dict[str, Any]) -> WechatLogin:
    gender = optional_int(body, "gender")
    if gender is not None and gender not in (0, 1, 2):
        raise InvalidInput("gender", "must be 0, 1 or 2")
    nickname = optional_str(body, "nickname")
    if nickname is not None and len(nickname) > 64:
        raise InvalidInput("nickname", "at most 64 characters")
    avatar = optional_str(body, "avatar")
    if avatar is not None and not re.match(r"^https?://\S{1,1000}$", avatar):
        raise InvalidInput("avatar", "must be an http(s) URL")
    return WechatLogin(
        code=required_str(body, "code"),
        nickname=nickname or None,
        avatar=avatar or None,
        gender=gender,
        invite_code=_invite_code(body),
    )


def refresh(body: dict[str, Any]) -> str:
    return required_str(body, "refresh_token")


def bind_phone(body: dict[str, Any]) -> BindPhone:
    return BindPhone(phone=required_str(body, "phone"), code=_code(body))


def _code(body: dict[str, Any]) -> str:
    code = required_str(body, "code")
    if not _SIX_DIGITS.match(code):
        raise InvalidInput("code", "must be 6 digits")
    return code


def _invite_code(body: dict[str, Any]) -> str | None:
    invite = optional_str(body, "invite_code")
    return invite.strip().upper() or None if invite is not None else None
