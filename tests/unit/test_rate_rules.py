"""Reading rate rules and finding a group's rules."""

from __future__ import annotations

import pytest

from facade.core.limits import CodePolicy, RateRule, parse_rate_rules, rules_for


def test_rules_read_scope_count_and_window():
    assert parse_rate_rules("ip:1/minute, target:10/day,ip+target:5/10m,ip:2/30s") == (
        RateRule("ip", 1, 60),
        RateRule("target", 10, 86400),
        RateRule("ip+target", 5, 600),
        RateRule("ip", 2, 30),
    )


def test_none_or_empty_means_no_rule():
    assert parse_rate_rules("none") == ()
    assert parse_rate_rules("") == ()


@pytest.mark.parametrize("spec", ["ip:1", "user:1/minute", "ip:0/minute", "ip:1/fortnight"])
def test_a_rule_that_cannot_be_read_is_refused(spec):
    with pytest.raises(ValueError, match="rate rule"):
        parse_rate_rules(spec)


def test_a_contract_rule_beats_the_group_default_and_unknown_groups_are_unlimited():
    rules = {"login": (RateRule("ip", 30, 60),), "member.login": (RateRule("ip", 10, 60),)}
    assert rules_for(rules, "member.login") == (RateRule("ip", 10, 60),)
    assert rules_for(rules, "vcode.login") == (RateRule("ip", 30, 60),)
    assert rules_for(rules, "vcode.other") == ()


def test_a_code_policy_must_allow_something():
    assert CodePolicy() == CodePolicy(ttl=300, max_tries=3, resend_interval=60, daily_cap=10)
    with pytest.raises(ValueError):
        CodePolicy(max_tries=0)
