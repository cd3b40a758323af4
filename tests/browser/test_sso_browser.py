"""An internal app's users, in headless Chromium: Keycloak's login page in the facade theme
(SMS code first), phone + SMS code and phone + password through the ``phone`` provider,
Keycloak's own password form, an SMS password reset, and the account console."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from facade.core.models import Registration
from tests.browser.chrome import screenshot
from tests.conftest import random_phone

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def wait_for(browser, by, value, timeout=20):
    WebDriverWait(browser, timeout).until(lambda b: b.find_elements(by, value))
    return browser.find_element(by, value)


def wait_for_text(browser, by, value, text, timeout=20) -> str:
    """The element's text once it reads ``text`` (a timeout names what it read instead): after
    a form is posted, the old page (with an element of the same id) may still be up a while."""
    seen: list[str] = []

    def shows(b) -> bool:
        seen[:] = [element.text for element in b.find_elements(by, value)]
        return text in seen

    WebDriverWait(browser, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        shows, message=f"#{value} never read {text!r} (last: {seen})"
    )
    return str(browser.find_element(by, value).text)


def demo_claims(browser, sso) -> dict:
    """The ID token claims the demo app verified, read through the browser's own session."""
    wait_for(browser, By.ID, "hello")
    cookie = browser.get_cookie("demo_session")
    assert cookie is not None
    return requests.get(
        f"{sso.demo.url}/claims", cookies={"demo_session": cookie["value"]}, timeout=10
    ).json()


def sign_in_by_sms(browser, sso, phone: str, *, via_keycloak_page: bool) -> None:
    """On Keycloak's page the phone is typed once: the facade's page opens with it and the code
    already sent. With ``kc_idp_hint`` the facade's page is the first one."""
    if via_keycloak_page:
        browser.get(f"{sso.demo.url}/login")
        wait_for(browser, By.ID, "facade-phone").send_keys(phone)
        browser.find_element(By.ID, "facade-send").click()
        wait_for(browser, By.ID, "notice")
        assert browser.find_element(By.ID, "phone").get_attribute("value") == phone
    else:
        browser.get(f"{sso.demo.url}/login?idp=phone")  # kc_idp_hint=phone
        wait_for(browser, By.ID, "code-form")
        browser.find_element(By.ID, "phone").send_keys(phone)
        browser.find_element(By.ID, "send").click()
        wait_for(browser, By.ID, "notice")
    screenshot(browser, "sms-code-page")
    browser.find_element(By.ID, "code").send_keys(sso.outbox_code(phone))
    browser.find_element(By.ID, "login").click()


def keep(shot: Path) -> None:
    """A screenshot the README shows: copied to docs/screenshots (the artifact stays too)."""
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, DOCS / shot.name)


def user_with_username(sso, password: str, **attributes: str):
    """A user whose username is not its phone (as captcha, account or a WeChat user who bound
    a phone): Keycloak's own form cannot find it by phone."""
    phone = random_phone()
    user = sso.services.registrar.register(
        Registration(
            username=f"u{phone}x",
            phone=phone,
            phone_verified=True,
            password=password,
            attributes=attributes,
        )
    )
    assert user.username != phone
    return user, phone


def test_login_page_opens_on_sms_code_in_the_facade_theme(sso, browser):
    browser.get(f"{sso.demo.url}/login")
    phone_field = wait_for(browser, By.ID, "facade-phone")
    assert phone_field.is_displayed() and phone_field.get_attribute("type") == "tel"
    assert browser.find_element(By.ID, "facade-send").text == "获取验证码"
    assert not browser.find_element(By.ID, "username").is_displayed()  # password tab is second
    tabs = browser.find_element(By.CLASS_NAME, "facade-tab-labels").text.split()
    assert tabs == ["验证码登录", "密码登录"]
    assert "social-phone" not in browser.page_source  # the tab, not a second button
    legal = browser.find_element(By.ID, "facade-legal").text
    assert "《用户协议》" in legal and "《隐私政策》" in legal
    terms = browser.find_element(By.ID, "facade-terms").get_attribute("href")
    assert requests.get(terms, timeout=10).status_code == 200
    assert "中文 (简体) (中文 (简体))" not in browser.page_source
    assert "简体中文" in browser.page_source  # the language menu names each language once
    keep(screenshot(browser, "login-page"))  # phone width (390 px): the default view

    browser.find_element(By.ID, "facade-tab-password-label").click()
    label = wait_for(browser, By.CSS_SELECTOR, "label[for=username]")
    assert label.is_displayed() and "手机号 / 用户名 / 邮箱" in label.text
    assert not phone_field.is_displayed()
    assert browser.find_element(By.ID, "facade-forgot").text == "忘记密码？"
    keep(screenshot(browser, "login-password-tab"))

    browser.set_window_size(1280, 900)
    browser.find_element(By.ID, "facade-tab-sms-label").click()
    keep(screenshot(browser, "login-page-desktop"))


def test_keycloak_password_form_signs_in_a_phone_username_with_standard_claims(sso, browser):
    """A user registered by phone has the phone as username, so Keycloak's own form finds it."""
    phone = random_phone()
    user = sso.services.registrar.register(
        Registration(
            phone=phone,
            phone_verified=True,
            password="Secret123",
            attributes={
                "nickname": "小红",
                "avatar": "https://example.com/a.png",
                "gender": "female",
            },
        )
    )
    browser.get(f"{sso.demo.url}/login")
    wait_for(browser, By.ID, "facade-tab-password-label").click()
    browser.find_element(By.ID, "username").send_keys(phone)
    browser.find_element(By.ID, "password").send_keys("Secret123")
    browser.find_element(By.ID, "kc-login").click()
    claims = demo_claims(browser, sso)
    screenshot(browser, "demo-app-signed-in")
    assert claims["sub"] == user.id
    assert claims["phone_number"] == phone and claims["phone_number_verified"] is True
    assert claims["picture"] == "https://example.com/a.png"
    assert claims["nickname"] == "小红" and claims["gender"] == "female"
    assert "gender_code" not in claims
    assert claims["uid"] == int(user.attr("uid") or 0) > 0


def test_phone_and_password_sign_in_a_user_whose_username_is_not_the_phone(sso, browser):
    user, phone = user_with_username(sso, "Secret123", gender="male")
    browser.get(f"{sso.demo.url}/login")
    wait_for(browser, By.ID, "facade-tab-password-label").click()
    browser.find_element(By.ID, "facade-phone-password").click()
    wait_for(browser, By.ID, "password-form")
    browser.find_element(By.ID, "phone").send_keys(phone)
    browser.find_element(By.ID, "password").send_keys("Wrong1234")
    browser.find_element(By.ID, "login").click()
    assert wait_for(browser, By.ID, "error").text == "手机号或密码错误"
    browser.find_element(By.ID, "password").send_keys("Secret123")
    browser.find_element(By.ID, "login").click()
    claims = demo_claims(browser, sso)
    assert claims["sub"] == user.id and claims["preferred_username"] == user.username
    assert claims["phone_number"] == phone and claims["gender"] == "male"
    assert [link["identityProvider"] for link in sso.operator.get_user_social_logins(user.id)] == [
        "phone"
    ]


def test_sms_password_reset_on_the_sso_page_then_sign_in_with_the_new_password(sso, browser):
    user, phone = user_with_username(sso, "OldSecret1")
    browser.get(f"{sso.demo.url}/login")
    wait_for(browser, By.ID, "facade-tab-password-label").click()
    browser.find_element(By.ID, "facade-forgot").click()
    wait_for(browser, By.ID, "reset-form")
    keep(screenshot(browser, "reset-page"))
    browser.find_element(By.ID, "phone").send_keys(phone)
    browser.find_element(By.ID, "send").click()
    wait_for(browser, By.ID, "notice")
    (sent,) = [m for m in sso.services.outbox.recent(phone) if m.purpose == "reset_password"]
    browser.find_element(By.ID, "code").send_keys(sent.code)
    browser.find_element(By.ID, "new-password").send_keys("NewSecret2")
    browser.find_element(By.ID, "reset").click()
    # The send step's notice is on the page until the reset's answer replaces it.
    assert (
        wait_for_text(browser, By.ID, "notice", "密码已重置，请用新密码登录")
        == "密码已重置，请用新密码登录"
    )
    assert "email" not in browser.page_source.lower()  # never an email-only reset

    # Back on the sign-in: the old password is gone, the new one works.
    wait_for(browser, By.ID, "password-form")
    assert browser.find_element(By.ID, "phone").get_attribute("value") == phone
    browser.find_element(By.ID, "password").send_keys("OldSecret1")
    browser.find_element(By.ID, "login").click()
    assert wait_for(browser, By.ID, "error").text == "手机号或密码错误"
    time.sleep(1.1)  # Keycloak's quick-login check refuses a right password right after a wrong
    browser.find_element(By.ID, "password").send_keys("NewSecret2")
    browser.find_element(By.ID, "login").click()
    assert demo_claims(browser, sso)["sub"] == user.id


def test_member_user_without_password_signs_in_by_sms_as_the_same_keycloak_user(sso, browser):
    """The issue's "done when": registered by SMS through ``member`` (no password), then SMS
    sign-in on Keycloak's page: one person, one Keycloak user, one uid."""
    phone = random_phone()
    member = f"{sso.facade.url}/api/v1"
    ip = {"X-Forwarded-For": "10.9.8.7"}
    sent = requests.post(
        f"{member}/auth/sms/send",
        json={"phone": phone, "code_type": "login"},
        headers=ip,
        timeout=10,
    )
    assert sent.status_code == 200, sent.text
    login = requests.post(
        f"{member}/auth/login/sms",
        json={"phone": phone, "code": sso.outbox_code(phone)},
        headers=ip,
        timeout=10,
    )
    assert login.status_code == 200, login.text
    (registered,) = sso.operator.get_users({"q": f"phone_number:{phone}"})
    assert not sso.operator.get_credentials(registered["id"])  # never set a password

    sign_in_by_sms(browser, sso, phone, via_keycloak_page=True)
    claims = demo_claims(browser, sso)
    assert claims["sub"] == registered["id"]
    assert claims["phone_number"] == phone
    assert str(claims["uid"]) == registered["attributes"]["uid"][0]
    assert "gender" not in claims  # unknown: omitted, as OIDC has it
    assert len(sso.operator.get_users({"q": f"phone_number:{phone}"})) == 1
    links = sso.operator.get_user_social_logins(registered["id"])
    assert [link["identityProvider"] for link in links] == ["phone"]


def test_new_phone_registers_by_sms_through_kc_idp_hint_and_opens_the_account_console(sso, browser):
    phone = random_phone()
    sign_in_by_sms(browser, sso, phone, via_keycloak_page=False)
    claims = demo_claims(browser, sso)
    user = sso.services.users.find_by_target("sms", phone)
    assert user is not None and claims["sub"] == user.id
    assert user.attr("uid") and user.attr("invite_code")  # registered as the contracts do
    assert "email" not in claims

    browser.get(f"{sso.keycloak_url}/realms/facade/account/")
    WebDriverWait(browser, 40).until(
        lambda b: phone in [i.get_attribute("value") for i in b.find_elements(By.TAG_NAME, "input")]
    )
    keep(screenshot(browser, "account-console"))
    assert "client not found" not in browser.page_source.lower()


def test_wrong_code_stays_on_the_sms_page_with_a_message(sso, browser):
    phone = random_phone()
    browser.get(f"{sso.demo.url}/login?idp=phone")
    wait_for(browser, By.ID, "phone").send_keys(phone)
    browser.find_element(By.ID, "send").click()
    wait_for(browser, By.ID, "notice")
    right = sso.outbox_code(phone)
    browser.find_element(By.ID, "code").send_keys("000000" if right != "000000" else "111111")
    browser.find_element(By.ID, "login").click()
    assert wait_for(browser, By.ID, "error").text == "验证码错误"
    assert sso.services.users.find_by_target("sms", phone) is None
