"""Binding a phone to the signed-in user after a code proves the phone is theirs."""

from __future__ import annotations

from facade.core.accounts import Accounts
from facade.core.models import User
from facade.core.ports import CodeVerifier


class PhoneBinding:
    def __init__(self, codes: CodeVerifier, accounts: Accounts) -> None:
        self._codes = codes
        self._accounts = accounts

    def bind(
        self, contract: str, user: User, phone: str, code: str, purposes: tuple[str, ...]
    ) -> User:
        """Code first: only someone holding the phone learns whether another user has it."""
        self._codes.verify(contract, purposes, phone, code)
        return self._accounts.set_phone(user, phone)
