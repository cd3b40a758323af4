"""Binding a phone to the signed-in user after a code proves the phone is theirs."""

from __future__ import annotations

from facade.core.accounts import Accounts
from facade.core.errors import AlreadyExists
from facade.core.models import User
from facade.core.ports import CodeVerifier


class PhoneBinding:
    def __init__(self, codes: CodeVerifier, accounts: Accounts) -> None:
        self._codes = codes
        self._accounts = accounts

    def bind(
        self, contract: str, user: User, phone: str, code: str, purposes: tuple[str, ...]
    ) -> User:
        """Code first: only someone holding the phone learns whether another user has it.

        An account that already has a verified phone cannot take another one (changing a
        phone would need proof of the old one, which no contract offers); that is the caller's
        own fact, so it is told before the code is spent.
        """
        current = user.attr("phone_number")
        if current and current != phone and user.attr("phone_number_verified") != "false":
            raise AlreadyExists("phone")
        self._codes.verify(contract, purposes, phone, code)
        return self._accounts.set_phone(user, phone)
