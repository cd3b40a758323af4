"""Password rules as data: each contract keeps its own (contracts README, "All contracts").

The realm's own policy (``length(6) and maxLength(128)``) is no stricter than the loosest rule
here, so a password a contract accepts is never refused by Keycloak.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PasswordRule:
    min_length: int
    max_length: int
    require_upper: bool = False
    require_lower: bool = False
    require_digit: bool = False
    description: str = ""

    def problem(self, password: str) -> str | None:
        """Why ``password`` breaks the rule, or None when it satisfies it."""
        if not self.min_length <= len(password) <= self.max_length:
            return f"must be {self.min_length} to {self.max_length} characters"
        if self.require_upper and not any(c.isupper() for c in password):
            return "must contain an upper-case letter"
        if self.require_lower and not any(c.islower() for c in password):
            return "must contain a lower-case letter"
        if self.require_digit and not any(c.isdigit() for c in password):
            return "must contain a digit"
        return None


#: captcha and account: the documents set no rule (contracts README).
DEFAULT_RULE = PasswordRule(6, 128)
#: customer.md: 6-20.
SHORT_RULE = PasswordRule(6, 20)
#: vcode.md: at least 8, with upper case, lower case and a digit.
STRONG_RULE = PasswordRule(
    8,
    128,
    require_upper=True,
    require_lower=True,
    require_digit=True,
    description="at least 8 characters with an upper-case letter, a lower-case letter and a digit",
)
