"""Resources of the ``member`` contract: parse, call the core once, render (member.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon

from facade.contracts.member import render, schemas
from facade.core.targets import canonical_phone
from facade.http.auth import require_bearer
from facade.http.body import json_object

if TYPE_CHECKING:
    from facade.bootstrap import Services

CONTRACT = "member"
#: What a new member starts with (contracts/README.md, ``member``).
NEW_MEMBER = {"gender": "0", "member_level_id": "1", "points": "0", "is_verified": "false"}


class _Resource:
    """Every member resource: the services it calls and, for bearer routes, its contract."""

    contract = CONTRACT

    def __init__(self, services: Services) -> None:
        self._services = services
        self.sessions = services.sessions


class SmsSend(_Resource):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = schemas.sms_send(json_object(req))
        phone = canonical_phone(request.phone)
        sent = self._services.codes.send(
            CONTRACT, request.code_type, "sms", phone, req.context.client_ip
        )
        resp.media = render.ok({"expire_in": sent.expires_in})


class SmsLogin(_Resource):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = schemas.sms_login(json_object(req))
        phone = canonical_phone(request.phone)
        self._services.limiter.hit(f"{CONTRACT}.login", ip=req.context.client_ip, target=None)
        signed_in = self._services.verified_sign_ins.by_phone_code(
            CONTRACT,
            phone,
            request.code,
            new_user_attributes={**NEW_MEMBER, "nickname": render.default_nickname(phone, "")},
            invite_code=request.invite_code,
        )
        resp.media = render.ok(render.signed_in(signed_in))


class WechatLogin(_Resource):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = schemas.wechat_login(json_object(req))
        self._services.limiter.hit(f"{CONTRACT}.login", ip=req.context.client_ip, target=None)
        profile = {**NEW_MEMBER, "nickname": request.nickname or "微信用户"}
        if request.avatar:
            profile["avatar"] = request.avatar
        if request.gender is not None:
            profile["gender"] = str(request.gender)
        signed_in = self._services.verified_sign_ins.by_wechat(
            CONTRACT, request.code, new_user_attributes=profile, invite_code=request.invite_code
        )
        resp.media = render.ok(render.signed_in(signed_in))


class Refresh(_Resource):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        refresh_token = schemas.refresh(json_object(req))
        tokens = self._services.sessions.refresh(CONTRACT, refresh_token)
        resp.media = render.ok(render.token(tokens))


class Me(_Resource):
    @falcon.before(require_bearer)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        user = self._services.registrar.ensure_identifiers(req.context.principal.user)
        resp.media = render.ok(render.member_user(user))


class BindPhone(_Resource):
    @falcon.before(require_bearer)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = schemas.bind_phone(json_object(req))
        phone = canonical_phone(request.phone)
        self._services.phone_binding.bind(
            CONTRACT, req.context.principal.user, phone, request.code, purposes=("login", "bind")
        )
        resp.media = render.ok(None)


class Logout(_Resource):
    @falcon.before(require_bearer)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._services.sessions.logout(CONTRACT, req.context.principal.claims)
        resp.media = render.ok(None)


def add_routes(
    app: falcon.App[falcon.Request, falcon.Response], prefix: str, services: Services
) -> None:
    app.add_route(f"{prefix}/auth/sms/send", SmsSend(services))
    app.add_route(f"{prefix}/auth/login/sms", SmsLogin(services))
    app.add_route(f"{prefix}/auth/login/wechat", WechatLogin(services))
    app.add_route(f"{prefix}/auth/refresh", Refresh(services))
    app.add_route(f"{prefix}/auth/me", Me(services))
    app.add_route(f"{prefix}/auth/bind-phone", BindPhone(services))
    app.add_route(f"{prefix}/auth/logout", Logout(services))
