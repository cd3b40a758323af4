"""The words around a code: email subject, plain text and HTML, SMS text, per purpose.

Real SMS providers render their own approved templates; this text is what the development
sender shows. Emails carry Chinese first, then English, because the facade does not know the
reader's language when it sends.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from facade.core.delivery import Message

#: purpose -> (Chinese, English) name of what the code is for.
PURPOSE_NAMES: dict[str, tuple[str, str]] = {
    "register": ("注册", "sign-up"),
    "login": ("登录", "sign-in"),
    "reset_password": ("重置密码", "password reset"),
    "bind": ("绑定", "account binding"),
}


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str


def _names(purpose: str) -> tuple[str, str]:
    return PURPOSE_NAMES.get(purpose, ("验证", "verification"))


def _minutes(message: Message) -> int:
    return max(1, message.ttl // 60)


def sms_text(message: Message) -> str:
    zh, _ = _names(message.purpose)
    return (
        f"您的{zh}验证码是{message.code}，{_minutes(message)}分钟内有效。"
        "如非本人操作，请忽略本短信。"
    )


def email_content(message: Message) -> EmailContent:
    zh, en = _names(message.purpose)
    minutes = _minutes(message)
    code = message.code
    subject = f"{zh}验证码 / Your {en} code"
    text = (
        f"您的{zh}验证码是：{code}\n"
        f"验证码{minutes}分钟内有效，请勿告诉他人。如非本人操作，请忽略本邮件。\n"
        "\n"
        f"Your {en} code is: {code}\n"
        f"It expires in {minutes} minutes. Do not share it. "
        "If you did not ask for it, ignore this email.\n"
    )
    safe_code = html.escape(code)
    body = (
        '<!DOCTYPE html><html><body style="font-family:sans-serif">'
        f'<p lang="zh-CN">您的{html.escape(zh)}验证码是：</p>'
        f'<p style="font-size:24px;letter-spacing:4px"><strong>{safe_code}</strong></p>'
        f'<p lang="zh-CN">验证码{minutes}分钟内有效，请勿告诉他人。'
        "如非本人操作，请忽略本邮件。</p><hr>"
        f'<p lang="en">Your {html.escape(en)} code is <strong>{safe_code}</strong>. '
        f"It expires in {minutes} minutes. Do not share it. "
        "If you did not ask for it, ignore this email.</p>"
        "</body></html>"
    )
    return EmailContent(subject, text, body)


def dev_text(message: Message) -> str:
    """What the development outbox shows: the SMS text, or the email's plain text."""
    if message.channel == "sms":
        return sms_text(message)
    content = email_content(message)
    return f"{content.subject}\n\n{content.text}"
