"""The phone + SMS-code page that Keycloak's ``phone`` identity provider sends browsers to.

Plain server-rendered HTML (no script needed), mobile first, zh-CN unless Keycloak passes
``ui_locales=en``. Every value is escaped; the form posts back to the same authorize URL, so
the OAuth request itself is validated again by authlib on every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from facade.core.errors import FacadeError

TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "短信验证码登录",
        "phone": "手机号",
        "code": "验证码",
        "send": "获取验证码",
        "login": "登录",
        "sent": "验证码已发送至 {phone}，{minutes} 分钟内有效",
        "back": "返回账号密码登录",
        "legal": "未注册的手机号验证后将自动创建账号",
        "invalid_input": "请输入正确的手机号和 6 位验证码",
        "code_rejected.wrong": "验证码错误",
        "code_rejected.expired": "验证码已失效，请重新获取",
        "code_rejected.too_many_tries": "错误次数过多，请重新获取验证码",
        "rate_limited": "操作太频繁，请 {retry} 秒后再试",
        "account_disabled": "账号已被停用，请联系客服",
        "delivery_failed": "短信发送失败，请稍后再试",
        "unavailable": "服务暂时不可用，请稍后再试",
        "error": "登录失败，请重试",
        "csrf": "页面已过期，请重新提交",
    },
    "en": {
        "title": "Sign in with an SMS code",
        "phone": "Phone number",
        "code": "Code",
        "send": "Send code",
        "login": "Sign in",
        "sent": "Code sent to {phone}, valid for {minutes} minutes",
        "back": "Back to password sign-in",
        "legal": "A new phone number gets an account once verified",
        "invalid_input": "Enter a valid phone number and the 6-digit code",
        "code_rejected.wrong": "Wrong code",
        "code_rejected.expired": "The code has expired; request a new one",
        "code_rejected.too_many_tries": "Too many wrong tries; request a new code",
        "rate_limited": "Too many attempts; try again in {retry} s",
        "account_disabled": "This account is disabled",
        "delivery_failed": "The SMS could not be sent; try again later",
        "unavailable": "Service unavailable; try again later",
        "error": "Sign-in failed; try again",
        "csrf": "The page expired; submit again",
    },
}


def locale_of(ui_locales: str | None) -> str:
    for tag in (ui_locales or "").split():
        if tag.lower().startswith("en"):
            return "en"
        if tag.lower().startswith("zh"):
            return "zh-CN"
    return "zh-CN"


def error_text(locale: str, error: FacadeError) -> str:
    texts = TEXTS[locale]
    variant = getattr(error, "reason", "")
    key = f"{error.kind}.{variant}" if f"{error.kind}.{variant}" in texts else error.kind
    return texts.get(key, texts["error"]).format(retry=getattr(error, "retry_after", 60))


@dataclass(frozen=True)
class PageState:
    action: str
    csrf: str
    locale: str = "zh-CN"
    phone: str = ""
    notice: str = ""
    error: str = ""
    back_url: str = ""


STYLE = """
body{margin:0; background:#f5f6f8; color:#1f2329;
  font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif}
main{max-width:420px; margin:0 auto; padding:2.5rem 1.25rem; background:#fff;
  min-height:100vh; box-sizing:border-box}
h1{font-size:1.5rem; margin:0 0 1.5rem}
label{display:block; font-weight:600; margin:1rem 0 .375rem}
input{width:100%; box-sizing:border-box; font-size:16px; padding:.75rem; border:1px solid
  #d0d3d6; border-radius:8px}
.row{display:flex; gap:.5rem} .row input{flex:1}
button{font-size:16px; min-height:44px; border-radius:8px; border:0; padding:0 1rem;
  cursor:pointer}
.send{background:#eef4ff; color:#1677ff; white-space:nowrap}
.login{width:100%; margin-top:1.5rem; background:#1677ff; color:#fff; font-weight:600}
.notice{color:#14804a} .error{color:#d4380d} .hint{color:#646a73; font-size:.8125rem}
.back{display:block; margin-top:1.25rem; text-align:center; color:#1677ff}
@media (min-width:576px){main{min-height:auto; margin-top:3rem; border-radius:12px;
  box-shadow:0 2px 12px rgba(0,0,0,.08)}}
"""


def render(state: PageState) -> str:
    t = TEXTS[state.locale]
    notice = f'<p class="notice" id="notice">{escape(state.notice)}</p>' if state.notice else ""
    error = (
        f'<p class="error" id="error" role="alert">{escape(state.error)}</p>' if state.error else ""
    )
    back = (
        f'<a class="back" id="back" href="{escape(state.back_url)}">{escape(t["back"])}</a>'
        if state.back_url
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="{state.locale}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(t["title"])}</title>
<style>
{STYLE}
</style></head>
<body><main>
<h1>{escape(t["title"])}</h1>
{notice}{error}
<form method="post" action="{escape(state.action)}" id="sms-form" novalidate>
<input type="hidden" name="csrf" value="{escape(state.csrf)}">
<label for="phone">{escape(t["phone"])}</label>
<div class="row"><input id="phone" name="phone" type="tel" inputmode="numeric" autocomplete="tel"
 maxlength="20" value="{escape(state.phone)}" required>
<button class="send" type="submit" name="step" value="send" id="send" formnovalidate>
{escape(t["send"])}</button></div>
<label for="code">{escape(t["code"])}</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
 maxlength="6">
<button class="login" type="submit" name="step" value="login" id="login">
{escape(t["login"])}</button>
<p class="hint">{escape(t["legal"])}</p>
</form>
{back}
</main></body></html>"""
