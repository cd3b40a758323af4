"""Hand-written in-memory fakes of the core's ports, for the fast test tier.

They keep the behaviour the core relies on (unique usernames and emails, passwords checked,
sessions ended, codes single use with tries counted, resend interval) and nothing more. They
never replace the real-server tests: whatever crosses Keycloak or Redis is proven there.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from facade.bootstrap import Stores
from facade.core.codes import CheckResult, CodeScope, Reservation
from facade.core.delivery import Message
from facade.core.errors import (
    AccountDisabled,
    AlreadyExists,
    ExchangeRefused,
    InvalidCredentials,
    InvalidToken,
    NotFound,
    RateLimited,
)
from facade.core.limits import CodePolicy
from facade.core.models import NewUser, SignIn, TokenClaims, TokenSet, User

LIFESPANS = {"captcha": 900, "vcode": 86400, "member": 7200, "customer": 86400, "account": 3600}


@dataclass
class _Session:
    id: str
    user_id: str
    contract: str
    active: bool = True


@dataclass
class FakeIdentity:
    """Keycloak as the core sees it: users, passwords, sessions and opaque tokens."""

    users: dict[str, User] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, _Session] = field(default_factory=dict)
    tokens: dict[str, tuple[str, TokenClaims]] = field(default_factory=dict)
    clock: float = field(default_factory=time.time)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def create_user(self, new_user: NewUser) -> str:
        with self._lock:
            username = new_user.username.lower()
            if any(u.username == username for u in self.users.values()):
                raise AlreadyExists("username")
            if new_user.email and any(u.email == new_user.email for u in self.users.values()):
                raise AlreadyExists("email")
            user_id = f"00000000-0000-4000-8000-{next(self._ids):012d}"
            self.users[user_id] = User(
                id=user_id,
                username=username,
                email=new_user.email,
                email_verified=new_user.email_verified,
                created_at_ms=int(self.clock * 1000),
                attributes=dict(new_user.attributes),
            )
            if new_user.password is not None:
                self.passwords[user_id] = new_user.password
            return user_id

    def get_user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def find_by_username(self, username: str) -> User | None:
        return next((u for u in self.users.values() if u.username == username.lower()), None)

    def find_by_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.email == email.lower()), None)

    def find_by_attribute(self, name: str, value: str) -> list[User]:
        return [u for u in self.users.values() if u.attr(name) == value]

    def update_user(
        self,
        user_id: str,
        *,
        username: str | None = None,
        email: str | None = None,
        attributes: Mapping[str, str | None] | None = None,
        enabled: bool | None = None,
        email_verified: bool = True,
    ) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise NotFound("user")
        merged = dict(user.attributes)
        for key, value in (attributes or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        if username is not None:
            holder = self.find_by_username(username)
            if holder is not None and holder.id != user_id:
                raise AlreadyExists("username")
        updated = replace(
            user,
            username=username.lower() if username is not None else user.username,
            email=email if email is not None else user.email,
            email_verified=email_verified if email is not None else user.email_verified,
            enabled=user.enabled if enabled is None else enabled,
            attributes=merged,
        )
        self.users[user_id] = updated
        return updated

    def set_password(self, user_id: str, password: str) -> None:
        self.passwords[user_id] = password

    def has_password(self, user_id: str) -> bool:
        return user_id in self.passwords

    def remove_password(self, user_id: str) -> None:
        self.passwords.pop(user_id, None)

    def all_attribute_values(self, name: str) -> list[str]:
        return [u.attr(name) or "" for u in self.users.values() if u.attr(name)]

    def end_session(self, session_id: str) -> None:
        if session_id in self.sessions:
            self.sessions[session_id].active = False

    def session_ids(self, user_id: str) -> list[str]:
        return [s.id for s in self.sessions.values() if s.user_id == user_id and s.active]

    def logout_all_sessions(self, user_id: str) -> None:
        for session_id in self.session_ids(user_id):
            self.end_session(session_id)

    def password_grant(self, contract: str, username: str, password: str) -> TokenSet:
        user = self.find_by_username(username)
        if user is None or self.passwords.get(user.id) != password:
            raise InvalidCredentials()
        return self._issue(contract, user)

    def exchange_for_user(self, contract: str, user_id: str) -> TokenSet:
        user = self.users.get(user_id)
        if user is None or not user.enabled:
            raise ExchangeRefused()  # Keycloak's one 403 for a disabled or deleted subject
        return self._issue(contract, user)

    def exchange_with_profile(self, contract: str, user_id: str) -> SignIn:
        tokens = self.exchange_for_user(contract, user_id)
        return SignIn(self.users[user_id], tokens)

    def refresh(self, contract: str, refresh_token: str) -> TokenSet:
        kind, claims = self._claims(contract, refresh_token)
        session = self.sessions.get(claims.session_id or "")
        if kind != "refresh" or session is None or not session.active:
            raise InvalidToken("session not active")
        user = self.users.get(claims.subject)
        if user is None or not user.enabled:
            raise AccountDisabled("account disabled")
        return self._issue(contract, user, session)

    def logout(self, contract: str, refresh_token: str) -> None:
        _, claims = self._claims(contract, refresh_token)
        self.end_session(claims.session_id or "")

    def verify_access_token(self, contract: str, token: str) -> TokenClaims:
        kind, claims = self._claims(contract, token)
        if kind != "access" or claims.expires_at < self.clock:
            raise InvalidToken("invalid token")
        return claims

    def verify_refresh_token(self, contract: str, token: str) -> TokenClaims:
        kind, claims = self._claims(contract, token)
        if kind != "refresh":
            raise InvalidToken("not a refresh token")
        return claims

    def ping(self) -> None:
        return None

    def _issue(self, contract: str, user: User, session: _Session | None = None) -> TokenSet:
        if not user.enabled:
            raise AccountDisabled("account disabled")
        session = session or _Session(secrets.token_hex(8), user.id, contract)
        self.sessions[session.id] = session
        issued_at = int(self.clock)
        lifespan = LIFESPANS.get(contract, 300)
        roles = frozenset({"user", *(["admin"] if user.attr("fake_admin") == "true" else [])})
        claims = TokenClaims(
            subject=user.id,
            client_id=f"facade-{contract}",
            session_id=session.id,
            token_id=secrets.token_hex(8),
            issued_at=issued_at,
            expires_at=issued_at + lifespan,
            roles=roles,
        )
        access, refresh = (
            f"fake-access-{secrets.token_hex(12)}",
            f"fake-refresh-{secrets.token_hex(12)}",
        )
        self.tokens[access] = ("access", claims)
        self.tokens[refresh] = ("refresh", claims)
        return TokenSet(access, refresh, lifespan, 2592000, issued_at, session.id, roles)

    def _claims(self, contract: str, token: str) -> tuple[str, TokenClaims]:
        found = self.tokens.get(token)
        if found is None:
            raise InvalidToken("invalid token")
        kind, claims = found
        if claims.client_id != f"facade-{contract}":
            raise InvalidToken("token issued to another client")
        return kind, claims


@dataclass
class _Code:
    hash: str
    tries_left: int
    expires_at: float
    issued_at: float


class FakeCodeStore:
    def __init__(self, clock: FakeIdentity) -> None:
        self._clock = clock
        self.codes: dict[CodeScope, _Code] = {}
        self.resend_until: dict[tuple[str, str], float] = {}

    def reserve(self, contract: str, target: str, policy: CodePolicy, token: str) -> Reservation:
        wait = self.resend_until.get((contract, target), 0) - self._clock.clock
        if wait > 0:
            raise RateLimited(int(wait) + 1, "resend_interval")
        self.resend_until[(contract, target)] = self._clock.clock + policy.resend_interval
        return Reservation(contract, target, token)

    def release(self, reservation: Reservation) -> None:
        self.resend_until.pop((reservation.contract, reservation.target), None)

    def save(self, scope: CodeScope, code_hash: str, policy: CodePolicy) -> None:
        code = _Code(code_hash, policy.max_tries, self._clock.clock + policy.ttl, self._clock.clock)
        self.codes[scope] = code

    def issued_at(self, scope: CodeScope) -> float | None:
        code = self.codes.get(scope)
        return code.issued_at if code is not None and code.expires_at >= self._clock.clock else None

    def check(
        self,
        scopes: Sequence[CodeScope],
        code_hashes: Sequence[str],
        keep: bool = False,
    ) -> CheckResult:
        for scope, code_hash in zip(scopes, code_hashes, strict=True):
            code = self.codes.get(scope)
            if code is None or code.expires_at < self._clock.clock:
                continue
            if code.hash == code_hash:
                if not keep:
                    del self.codes[scope]
                return CheckResult.OK
            code.tries_left -= 1
            if code.tries_left <= 0:
                del self.codes[scope]
                return CheckResult.TOO_MANY_TRIES
            return CheckResult.WRONG
        return CheckResult.EXPIRED

    def spend(self, scopes: Sequence[CodeScope], code_hashes: Sequence[str]) -> bool:
        for scope, code_hash in zip(scopes, code_hashes, strict=True):
            code = self.codes.get(scope)
            if code is not None and code.hash == code_hash and code.tries_left > 0:
                del self.codes[scope]
                return True
        return False


class NoLimits:
    def hit(self, group: str, *, ip: str | None = None, target: str | None = None) -> None:
        return None


class FakeIndex:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], str] = {}

    def get(self, attribute: str, value: str) -> str | None:
        return self.entries.get((attribute, value))

    def put(self, attribute: str, value: str, user_id: str) -> None:
        self.entries[(attribute, value)] = user_id

    def drop(self, attribute: str, value: str) -> None:
        self.entries.pop((attribute, value), None)


class NoCache:
    def get(self, user_id: str) -> User | None:
        return None

    def put(self, user: User) -> None:
        return None

    def replace(self, user: User) -> None:
        return None

    def drop(self, user_id: str) -> None:
        return None


class FakeRevocations:
    def __init__(self) -> None:
        self.sessions: set[str] = set()
        self.not_before: dict[str, int] = {}

    def revoke_session(self, session_id: str, ttl_seconds: int) -> None:
        self.sessions.add(session_id)

    def set_not_before(self, user_id: str, timestamp: int, ttl_seconds: int) -> None:
        self.not_before[user_id] = timestamp

    def state(self, session_id: str | None, user_id: str) -> tuple[bool, int]:
        return session_id in self.sessions, self.not_before.get(user_id, 0)

    def state_with_profile(
        self, session_id: str | None, user_id: str
    ) -> tuple[bool, int, User | None]:
        return (*self.state(session_id, user_id), None)


class FakeClaims:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.held: set[str] = set()

    def acquire(self, names: list[str], owner: str, wait_seconds: float) -> bool:
        with self._lock:
            if self.held & set(names):
                return False
            self.held |= set(names)
            return True

    def release(self, names: list[str], owner: str) -> None:
        with self._lock:
            self.held -= set(names)


class FakeUids:
    def __init__(self) -> None:
        self._next = itertools.count(1)

    def next(self) -> int | None:
        return next(self._next)

    def seed(self, at_least: int) -> None:
        self._next = itertools.count(at_least + 1)


@dataclass
class Outbox:
    """A sender that keeps what it "delivered", newest last."""

    name: str = "fake-outbox"
    messages: list[Message] = field(default_factory=list)

    def send(self, message: Message) -> None:
        self.messages.append(message)

    def latest_code(self, target: str) -> str:
        return next(m.code for m in reversed(self.messages) if m.target == target)


def fake_stores(identity: FakeIdentity) -> Stores:
    return Stores(
        codes=FakeCodeStore(identity),
        limiter=NoLimits(),
        index=FakeIndex(),
        cache=NoCache(),
        revocations=FakeRevocations(),
        claims=FakeClaims(),
        uids=FakeUids(),
        ping=lambda: None,
    )
