"""Password hashes from an export: what Keycloak verifies itself, and what the facade keeps.

PBKDF2 (SHA-1/256/512) and Argon2 become Keycloak password credentials (``secretData`` and
``credentialData``), so SSO works at once. bcrypt and salted or plain digests are kept in the
identity store in passlib's notation and verified by passlib at the user's first password
sign-in (:mod:`facade.migration.legacy_passwords`); Keycloak then hashes the password its own
way. Every hash is parsed by passlib here, so a malformed one is a reject in the dry run.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from passlib import hash as passlib_hash
from passlib.context import CryptContext

from facade.migration.rows import RowError

#: Schemes Keycloak verifies: the export's name -> Keycloak's algorithm id.
NATIVE = {
    "pbkdf2-sha1": "pbkdf2",
    "pbkdf2-sha256": "pbkdf2-sha256",
    "pbkdf2-sha512": "pbkdf2-sha512",
}
#: ``digest(salt+password)`` and friends; the digest is hex, the salt the ``password_salt`` text.
_DIGEST = re.compile(r"^(md5|sha1|sha256|sha512)\((salt\+password|password\+salt|password)\)$")
_FSHP_VARIANT = {"sha1": 0, "sha256": 1, "sha512": 3}
_DIGEST_SIZE = {"md5": 16, "sha1": 20, "sha256": 32, "sha512": 64}
SCHEMES = (
    *NATIVE,
    "argon2",
    "bcrypt",
    "<md5|sha1|sha256|sha512>(salt+password|password+salt|password)",
)


class _AnyButDollar:
    def __contains__(self, char: object) -> bool:
        return char != "$"


class SaltedMd5(passlib_hash.django_salted_md5):  # type: ignore[misc]
    """``md5(salt+password)`` (Django's handler) with any salt but ``$``: apps' salts are
    rarely alphanumeric only."""

    name = "facade_salted_md5"
    ident = "fmd5$"
    salt_chars = _AnyButDollar()


#: What the facade verifies at sign-in: the notations :func:`convert` produces.
LEGACY_CONTEXT = CryptContext(
    schemes=[
        "bcrypt",
        SaltedMd5,
        "fshp",
        "ldap_salted_md5",
        "ldap_salted_sha1",
        "ldap_salted_sha256",
        "ldap_salted_sha512",
        "hex_md5",
        "hex_sha1",
        "hex_sha256",
        "hex_sha512",
    ]
)


@dataclass(frozen=True)
class Password:
    """A row's password: a Keycloak credential, or a legacy hash for the facade (one is set)."""

    credential: dict[str, Any] | None = None
    legacy: str | None = None


def detect(password_hash: str) -> str | None:
    """The scheme of a self-describing hash (modular crypt, PHC or Django notation)."""
    for prefix, scheme in (
        ("$2a$", "bcrypt"),
        ("$2b$", "bcrypt"),
        ("$2y$", "bcrypt"),
        ("$argon2", "argon2"),
        ("$pbkdf2-sha256$", "pbkdf2-sha256"),
        ("$pbkdf2-sha512$", "pbkdf2-sha512"),
        ("$pbkdf2$", "pbkdf2-sha1"),
        ("pbkdf2_sha256$", "pbkdf2-sha256"),
        ("pbkdf2_sha1$", "pbkdf2-sha1"),
    ):
        if password_hash.startswith(prefix):
            return scheme
    return None


def convert(password_hash: str, scheme: str | None, salt: str | None) -> Password:
    """The row's hash as a Keycloak credential or a legacy hash; RowError when unusable."""
    scheme = (scheme or detect(password_hash) or "").strip().lower()
    if not scheme:
        raise RowError("password_hash: unknown scheme (set hash_scheme or --hash-scheme)")
    try:
        if scheme in NATIVE:
            return Password(credential=_pbkdf2(password_hash, scheme))
        if scheme == "argon2":
            return Password(credential=_argon2(password_hash))
        if scheme == "bcrypt":
            passlib_hash.bcrypt.from_string(password_hash)
            return Password(legacy=password_hash)
        match = _DIGEST.match(scheme.replace(" ", ""))
        if match:
            return Password(legacy=_digest(password_hash, match[1], match[2], salt))
    except (ValueError, TypeError) as exc:
        raise RowError(f"password_hash: not a valid {scheme} hash ({exc})") from None
    raise RowError(f"hash_scheme: {scheme} is not supported (one of {', '.join(SCHEMES)})")


def verify_legacy(password: str, legacy: str) -> bool:
    """passlib's constant-time check of a kept hash."""
    try:
        return bool(LEGACY_CONTEXT.verify(password, legacy))
    except (ValueError, TypeError):
        return False


def _credential(
    algorithm: str, iterations: int, salt: bytes, value: bytes, **extra: str
) -> dict[str, Any]:
    return {
        "type": "password",
        "secretData": json.dumps(
            {"value": _b64(value), "salt": _b64(salt), "additionalParameters": {}}
        ),
        "credentialData": json.dumps(
            {
                "hashIterations": iterations,
                "algorithm": algorithm,
                "additionalParameters": {key: [v] for key, v in extra.items()},
            }
        ),
    }


def _pbkdf2(password_hash: str, scheme: str) -> dict[str, Any]:
    """passlib's ``$pbkdf2-sha256$rounds$salt$hash`` or Django's ``pbkdf2_sha256$...``: Keycloak
    derives the key length from the stored value, so any length verifies."""
    if password_hash.startswith("$"):
        handler = {
            "pbkdf2-sha1": passlib_hash.pbkdf2_sha1,
            "pbkdf2-sha256": passlib_hash.pbkdf2_sha256,
            "pbkdf2-sha512": passlib_hash.pbkdf2_sha512,
        }[scheme]
        parsed = handler.from_string(password_hash)
        salt = bytes(parsed.salt)
    else:
        handler = {
            "pbkdf2-sha1": passlib_hash.django_pbkdf2_sha1,
            "pbkdf2-sha256": passlib_hash.django_pbkdf2_sha256,
        }.get(scheme)
        if handler is None:
            raise ValueError("Django notation exists for pbkdf2-sha1 and pbkdf2-sha256 only")
        parsed = handler.from_string(password_hash)
        return _credential(
            NATIVE[scheme],
            int(parsed.rounds),
            str(parsed.salt).encode(),
            base64.b64decode(str(parsed.checksum)),
        )
    return _credential(NATIVE[scheme], int(parsed.rounds), salt, bytes(parsed.checksum))


def _argon2(password_hash: str) -> dict[str, Any]:
    """A PHC string ``$argon2id$v=19$m=...,t=...,p=...$salt$hash``."""
    parsed = passlib_hash.argon2.from_string(password_hash)
    if int(parsed.rounds) >= 100:
        raise ValueError("Keycloak verifies argon2 with fewer than 100 iterations only")
    return _credential(
        "argon2",
        int(parsed.rounds),
        bytes(parsed.salt),
        bytes(parsed.checksum),
        type=str(parsed.type),
        version="1.3" if int(parsed.version) == 0x13 else "1.0",
        hashLength=str(len(parsed.checksum)),
        memory=str(int(parsed.memory_cost)),
        parallelism=str(int(parsed.parallelism)),
    )


def _digest(hex_digest: str, digest: str, layout: str, salt: str | None) -> str:
    """A salted or plain digest in the passlib notation that checks the same layout."""
    checksum = bytes.fromhex(hex_digest)
    if len(checksum) != _DIGEST_SIZE[digest]:
        raise ValueError(f"a {digest} digest is {_DIGEST_SIZE[digest] * 2} hex digits")
    if layout == "password":
        return str(
            getattr(passlib_hash, f"hex_{digest}").from_string(hex_digest.lower()).to_string()
        )
    if not salt:
        raise ValueError("password_salt is empty")
    raw_salt = salt.encode()
    if layout == "password+salt":
        handler = getattr(passlib_hash, f"ldap_salted_{digest}")
        return str(handler(salt=raw_salt, checksum=checksum).to_string())
    if digest == "md5":
        return str(SaltedMd5(salt=salt, checksum=hex_digest.lower()).to_string())
    fshp = passlib_hash.fshp(
        salt=raw_salt, rounds=1, variant=_FSHP_VARIANT[digest], checksum=checksum
    )
    return str(fshp.to_string())


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
