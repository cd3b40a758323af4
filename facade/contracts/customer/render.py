"""Bodies of the ``customer`` contract (customer.md): ``{code, message, data}``.

Every documented outcome is HTTP 200 with a business code in the body, and each code has one
stable message (README "customer"); clients of this style branch on ``code``. 10003, 10008 and
10009 are the codes the README adds. Only answers outside the document (an unknown path, a
method the route does not serve, a bug) keep their HTTP status.
"""

from __future__ import annotations

from typing import Any

from facade.contracts.kit import ErrorRow, ErrorTable
from facade.core.identities import public_id
from facade.core.models import Registered, TokenSet, User

REFRESH = "/user/refresh"

INVALID_PARAMETERS = ErrorRow(200, "invalid parameters", code=10001)
WRONG_PASSWORD = ErrorRow(200, "wrong phone or password", code=10002)
INVALID_TOKEN = ErrorRow(200, "invalid token", code=10003)
USER_NOT_FOUND = ErrorRow(200, "user not found", code=10004)
USER_DISABLED = ErrorRow(200, "user disabled", code=10005)
CODE_REJECTED = ErrorRow(200, "invalid or expired verification code", code=10006)
PHONE_REGISTERED = ErrorRow(200, "phone already registered", code=10007)
TOO_MANY_REQUESTS = ErrorRow(200, "too many requests", code=10008)
UNAVAILABLE = ErrorRow(200, "service unavailable", code=10009)

ERRORS = ErrorTable(
    rows={
        "invalid_input": INVALID_PARAMETERS,
        "invalid_credentials": WRONG_PASSWORD,
        "invalid_token": INVALID_TOKEN,
        # customer has no WeChat sign-in; a refused outside proof is a refused token.
        "external_auth_rejected": INVALID_TOKEN,
        "not_found": USER_NOT_FOUND,
        "account_disabled": USER_DISABLED,
        "code_rejected": CODE_REJECTED,
        "already_exists": PHONE_REGISTERED,
        "rate_limited": TOO_MANY_REQUESTS,
        "delivery_failed": UNAVAILABLE,
        # The SMS provider refused the number itself: a parameter the client must change.
        "delivery_failed.target_rejected": INVALID_PARAMETERS,
        "delivery_failed.throttled": TOO_MANY_REQUESTS,
        "unavailable": UNAVAILABLE,
        "not_implemented": ErrorRow(501, "not implemented"),
        "http": ErrorRow(0, "{title}"),
        "internal": ErrorRow(500, "internal error"),
    },
    routes={
        # Keycloak's own refusal of a refresh token (invalid_grant) is an invalid token here.
        REFRESH: {"invalid_credentials": INVALID_TOKEN},
    },
)

#: Every business code, for the document: (code, message, meaning, added by the facade).
CODES: tuple[tuple[int, str, str, bool], ...] = (
    (0, "success", "成功", False),
    (10001, INVALID_PARAMETERS.message, "参数错误", False),
    (10002, WRONG_PASSWORD.message, "用户名或密码错误", False),
    (10003, INVALID_TOKEN.message, "token missing, invalid, expired or revoked (logout)", True),
    (10004, USER_NOT_FOUND.message, "用户不存在", False),
    (10005, USER_DISABLED.message, "用户已被禁用", False),
    (10006, CODE_REJECTED.message, "验证码错误或已过期", False),
    (10007, PHONE_REGISTERED.message, "手机号已被注册", False),
    (10008, TOO_MANY_REQUESTS.message, "sending or signing in too often (Retry-After)", True),
    (10009, UNAVAILABLE.message, "a backing service cannot be reached; retry later", True),
)


def code_table() -> str:
    """The business codes as a Markdown table for the OpenAPI document."""
    lines = ["| code | message | meaning |", "|---|---|---|"]
    for code, message, meaning, added in CODES:
        note = " **(added by the facade)**" if added else ""
        lines.append(f"| {code} | `{message}` | {meaning}{note} |")
    return "\n".join(lines)


ERROR_SCHEMA = {
    "type": "object",
    "description": "An error, sent with HTTP 200 like every documented outcome.",
    "properties": {
        "code": {
            "type": "integer",
            "description": "Business error code: "
            + "; ".join(
                f"{code} {message}{' (added by the facade)' if added else ''}"
                for code, message, _, added in CODES[1:]
            ),
        },
        "message": {"type": "string", "description": "Stable for each code"},
        "data": {"type": "null"},
    },
    "required": ["code", "message", "data"],
}


def envelope(row: ErrorRow, error: BaseException | None, route: str | None) -> dict[str, Any]:
    return {"code": row.body_code, "message": row.message, "data": None}


def ok(data: Any) -> dict[str, Any]:
    return {"code": 0, "message": "success", "data": data}


def session(user: User, tokens: TokenSet) -> dict[str, Any]:
    """``data`` of login and register: the documented three fields plus ``refresh_token``."""
    return {
        "token": tokens.access_token,
        "user_id": user_id(user),
        "expires_in": tokens.expires_in,
        "refresh_token": tokens.refresh_token,
    }


def registered(result: Registered) -> dict[str, Any]:
    """``data`` of register, which always signs the new user in."""
    if result.tokens is None:
        raise LookupError("register_with_code was asked to sign in")
    return session(result.user, result.tokens)


def user_id(user: User) -> int:
    """The integer id: the customer app's own id for its migrated users, else the shared uid;
    every user reaching here has a uid (registration or ``ensure_identifiers`` gave it), so a
    missing one is a bug, not a 0."""
    if user.attr("uid") is None:
        raise LookupError(f"user {user.id} has no uid")
    return public_id(user, "customer")


def tokens(refreshed: TokenSet) -> dict[str, Any]:
    return {
        "token": refreshed.access_token,
        "refresh_token": refreshed.refresh_token,
        "expires_in": refreshed.expires_in,
    }
