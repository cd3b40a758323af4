"""The phone page that Keycloak's ``phone`` identity provider sends browsers to.

Three forms, one at a time: ``code`` (phone + SMS code, the default), ``password`` (phone +
password) and ``reset`` (phone + code + new password). Plain server-rendered HTML (no script
needed), mobile first, zh-CN unless Keycloak passes ``ui_locales=en``. Every value is escaped;
the form posts back to the same authorize URL, so the OAuth request itself is validated again
by authlib on every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from facade.core.errors import FacadeError

TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "短信验证码登录",
        "tab.code": "验证码登录",
        "tab.password": "密码登录",
        "title.reset": "重置密码",
        "phone": "手机号",
        "code": "验证码",
        "password": "密码",
        "new_password": "新密码",
        "send": "获取验证码",
        "login": "登录",
        "do_reset": "重置密码",
        "forgot": "忘记密码？",
        "reset_done": "密码已重置，请用新密码登录",
        "sent": "验证码已发送至 {phone}，{minutes} 分钟内有效",
        "back": "返回登录页",
        "invalid_credentials": "手机号或密码错误",
        "not_found": "该手机号未注册",
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
        "tab.code": "SMS code",
        "tab.password": "Password",
        "title.reset": "Reset password",
        "phone": "Phone number",
        "code": "Code",
        "password": "Password",
        "new_password": "New password",
        "send": "Send code",
        "login": "Sign in",
        "do_reset": "Reset password",
        "forgot": "Forgot password?",
        "reset_done": "Password reset; sign in with the new one",
        "sent": "Code sent to {phone}, valid for {minutes} minutes",
        "back": "Back to the sign-in page",
        "invalid_credentials": "Wrong phone number or password",
        "not_found": "No account has this phone number",
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


MODES = ("code", "password", "reset")


@dataclass(frozen=True)
class PageState:
    #: The authorize URL's path and query without ``mode`` (each form and tab adds its own).
    action: str
    csrf: str
    locale: str = "zh-CN"
    mode: str = "code"
    phone: str = ""
    notice: str = ""
    error: str = ""
    back_url: str = ""

    def url(self, mode: str) -> str:
        return f"{self.action}{'&' if '?' in self.action else '?'}mode={mode}"


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
.tabs{display:flex; gap:1.5rem; margin:0 0 .5rem} .tabs a{color:#646a73; text-decoration:none;
  font-size:1.125rem; padding-bottom:.25rem} .tabs a.on{color:#1f2329; font-weight:600;
  border-bottom:2px solid #1677ff}
.links{display:flex; justify-content:flex-end; margin-top:.75rem} .links a{color:#1677ff}
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
    if state.mode == "reset":
        title = t["title.reset"]
        head = f"<h1>{escape(title)}</h1>"
    else:
        title = t["title"] if state.mode == "code" else t["tab.password"]
        on = ' class="on" aria-current="page"'
        tabs = "".join(
            f'<a id="tab-{m}" href="{escape(state.url(m))}"{on if m == state.mode else ""}>'
            f"{escape(t['tab.' + m])}</a>"
            for m in ("code", "password")
        )
        head = f'<nav class="tabs">{tabs}</nav>'
    return f"""<!DOCTYPE html>
<html lang="{state.locale}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>
{STYLE}
</style></head>
<body><main>
{head}
{notice}{error}
<form method="post" action="{escape(state.url(state.mode))}" id="{state.mode}-form" novalidate>
<input type="hidden" name="csrf" value="{escape(state.csrf)}">
{_fields(state, t)}
</form>
{back}
</main></body></html>"""


def _fields(state: PageState, t: dict[str, str]) -> str:
    phone = f"""<label for="phone">{escape(t["phone"])}</label>
<div class="row"><input id="phone" name="phone" type="tel" inputmode="numeric" autocomplete="tel"
 maxlength="20" value="{escape(state.phone)}" required{"" if state.phone else " autofocus"}>"""
    send = f"""<button class="send" type="submit" name="step" value="send" id="send" formnovalidate>
{escape(t["send"])}</button>"""
    code = f"""<label for="code">{escape(t["code"])}</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
 maxlength="6"{" autofocus" if state.phone else ""}>"""
    if state.mode == "password":
        return f"""{phone}</div>
<label for="password">{escape(t["password"])}</label>
<input id="password" name="password" type="password" autocomplete="current-password"
 maxlength="128"{" autofocus" if state.phone else ""}>
<div class="links"><a id="forgot" href="{escape(state.url("reset"))}">
{escape(t["forgot"])}</a></div>
<button class="login" type="submit" name="step" value="password" id="login">
{escape(t["login"])}</button>"""
    if state.mode == "reset":
        return f"""{phone}
{send}</div>
{code}
<label for="new-password">{escape(t["new_password"])}</label>
<input id="new-password" name="new_password" type="password" autocomplete="new-password"
 maxlength="128">
<button class="login" type="submit" name="step" value="reset" id="reset">
{escape(t["do_reset"])}</button>"""
    return f"""{phone}
{send}</div>
{code}
<button class="login" type="submit" name="step" value="login" id="login">
{escape(t["login"])}</button>
<p class="hint">{escape(t["legal"])}</p>"""
