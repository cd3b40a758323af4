"""Signing keys of the facade's OpenID provider, shared by every worker through Redis.

ID tokens of this provider live seconds (Keycloak redeems the code at once), so losing the keys
with Redis costs nothing but a new key, which is why they may live there (design note 8). The
private halves are stored encrypted with the server secret, so a Redis dump alone signs
nothing. A key signs for ``rotation`` seconds, then a new one takes over; the old one stays in
the JWKS for another ``rotation`` seconds, so a relying party that cached it still verifies.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from facade.adapters.redis_keys import RedisKeys


@dataclass(frozen=True)
class SigningKey:
    kid: str
    created: float
    key: RSAKey


class RedisSigningKeys:
    def __init__(
        self,
        client: redis.Redis,
        keys: RedisKeys,
        secret: str,
        rotation: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._keys = keys
        self._password = hashlib.sha256(b"sso-signing-key\x1f" + secret.encode()).digest()
        self._rotation = rotation
        self._clock = clock

    def current(self) -> SigningKey:
        """The newest key younger than the rotation period, made when there is none."""
        now = self._clock()
        for kid, created in self._index(newest_first=True):
            if now - created < self._rotation:
                loaded = self._load(kid, created)
                if loaded is not None:
                    return loaded
            break
        return self._create(now)

    def published(self) -> list[dict[str, Any]]:
        """The public JWKs of every key still within its verification window."""
        self.current()  # a JWKS never comes out empty
        horizon = self._clock() - 2 * self._rotation
        self._redis.zremrangebyscore(self._keys.key("sso", "keys"), "-inf", horizon)
        found = []
        for kid, created in self._index(newest_first=True):
            loaded = self._load(kid, created)
            if loaded is not None:
                public: dict[str, Any] = loaded.key.as_dict(private=False)
                found.append({**public, "kid": kid, "use": "sig", "alg": "RS256"})
        return found

    def _index(self, *, newest_first: bool) -> list[tuple[str, float]]:
        raw: Any = self._redis.zrange(
            self._keys.key("sso", "keys"), 0, -1, desc=newest_first, withscores=True
        )
        return [(bytes(kid).decode(), float(score)) for kid, score in raw]

    def _load(self, kid: str, created: float) -> SigningKey | None:
        pem = self._redis.get(self._keys.key("sso", "key", kid))
        if not isinstance(pem, bytes):
            return None
        private = serialization.load_pem_private_key(pem, password=self._password)
        return SigningKey(kid, created, _to_jwk(private, kid))

    def _create(self, now: float) -> SigningKey:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_der = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        kid = base64.urlsafe_b64encode(hashlib.sha256(public_der).digest()[:12]).decode()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._password),
        )
        pipe = self._redis.pipeline()
        pipe.set(self._keys.key("sso", "key", kid), pem, ex=int(2 * self._rotation) + 60)
        pipe.zadd(self._keys.key("sso", "keys"), {kid: now})
        pipe.execute()
        return SigningKey(kid, now, _to_jwk(private, kid))


def _to_jwk(private: Any, kid: str) -> RSAKey:
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return RSAKey.import_key(pem, parameters={"kid": kid, "use": "sig", "alg": "RS256"})
