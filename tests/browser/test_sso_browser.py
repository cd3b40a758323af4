"""An internal app's users, in headless Chromium: Keycloak's login page in the facade theme,
phone + password, phone + SMS code through the ``phone`` provider, and the account console."""

from __future__ import annotations

import shutil
from pathlib import Path

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from facade.core.models import Registration
from tests.browser.chrome import screenshot
from tests.conftest import random_phone

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def wait_for(browser, by, value, timeout=20):
    WebDriverWait(browser, timeout).until(lambda b: b.find_elements(by, value))
    return browser.find_element(by, value)


def demo_claims(browser, sso) -> dict:
    """The ID token claims the demo app verified, read through the browser's own session."""
    wait_for(browser, By.ID, "hello")
    cookie = browser.get_cookie("demo_session")
    assert cookie is not None
    return requests.get(
        f"{sso.demo.url}/claims", cookies={"demo_session": cookie["value"]}, timeout=10
    ).json()


def sign_in_by_sms(browser, sso, phone: str, *, via_keycloak_page: bool) -> None:
    if via_keycloak_page:
        browser.get(f"{sso.demo.url}/login")
        wait_for(browser, By.ID, "social-phone").click()
    else:
        browser.get(f"{sso.demo.url}/login?idp=phone")  # kc_idp_hint=phone
    wait_for(browser, By.ID, "sms-form")
    browser.find_element(By.ID, "phone").send_keys(phone)
    browser.find_element(By.ID, "send").click()
    wait_for(browser, By.ID, "notice")
    screenshot(browser, "sms-code-page")
    browser.find_element(By.ID, "code").send_keys(sso.outbox_code(phone))
    browser.find_element(By.ID, "login").click()


def test_login_page_is_the_facade_theme_in_chinese(sso, browser):
    browser.get(f"{sso.demo.url}/login")
    label = wait_for(browser, By.CSS_SELECTOR, "label[for=username]")
    assert "手机号 / 用户名 / 邮箱" in label.text
    assert wait_for(browser, By.ID, "social-phone").text == "短信验证码登录"
    legal = browser.find_element(By.ID, "facade-legal").text
    assert "《用户协议》" in legal and "《隐私政策》" in legal
    terms = browser.find_element(By.ID, "facade-terms").get_attribute("href")
    assert requests.get(terms, timeout=10).status_code == 200
    browser.set_window_size(430, 1000)
    shot = screenshot(browser, "login-page")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, DOCS / "login-page.png")


def test_phone_and_password_sign_in_reaches_the_demo_app_with_standard_claims(sso, browser):
    """A user registered by phone has the phone as username, so Keycloak's own form finds it."""
    phone = random_phone()
    user = sso.services.registrar.register(
        Registration(
            phone=phone,
            phone_verified=True,
            password="Secret123",
            attributes={"nickname": "小红", "avatar": "https://example.com/a.png", "gender": "2"},
        )
    )
    browser.get(f"{sso.demo.url}/login")
    wait_for(browser, By.ID, "username").send_keys(phone)
    browser.find_element(By.ID, "password").send_keys("Secret123")
    browser.find_element(By.ID, "kc-login").click()
    claims = demo_claims(browser, sso)
    screenshot(browser, "demo-app-signed-in")
    assert claims["sub"] == user.id
    assert claims["phone_number"] == phone and claims["phone_number_verified"] is True
    assert claims["picture"] == "https://example.com/a.png"
    assert claims["nickname"] == "小红" and claims["gender_code"] == 2
    assert claims["uid"] == int(user.attr("uid") or 0) > 0


def test_member_user_without_password_signs_in_by_sms_as_the_same_keycloak_user(sso, browser):
    """Registered by SMS through ``member`` (no password), then SMS sign-in through Keycloak:
    one person, one Keycloak user, one uid."""
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

    sign_in_by_sms(browser, sso, phone, via_keycloak_page=False)
    claims = demo_claims(browser, sso)
    assert claims["sub"] == registered["id"]
    assert claims["phone_number"] == phone
    assert str(claims["uid"]) == registered["attributes"]["uid"][0]
    assert len(sso.operator.get_users({"q": f"phone_number:{phone}"})) == 1
    links = sso.operator.get_user_social_logins(registered["id"])
    assert [link["identityProvider"] for link in links] == ["phone"]


def test_new_phone_registers_by_sms_on_keycloaks_page_and_opens_the_account_console(sso, browser):
    phone = random_phone()
    sign_in_by_sms(browser, sso, phone, via_keycloak_page=True)
    claims = demo_claims(browser, sso)
    user = sso.services.users.find_by_target("sms", phone)
    assert user is not None and claims["sub"] == user.id
    assert user.attr("uid") and user.attr("invite_code")  # registered as the contracts do
    assert "email" not in claims

    browser.get(f"{sso.keycloak_url}/realms/facade/account/")
    WebDriverWait(browser, 40).until(
        lambda b: phone in [i.get_attribute("value") for i in b.find_elements(By.TAG_NAME, "input")]
    )
    shot = screenshot(browser, "account-console")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, DOCS / "account-console.png")
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
