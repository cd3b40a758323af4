"""Every mounted contract renders every error type from its table and publishes a valid document."""

from __future__ import annotations

import falcon
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from facade.contracts import load_contract
from facade.contracts.kit.errors import all_error_kinds
from facade.contracts.kit.openapi import build_document
from facade.core import errors
from facade.settings import DEFAULT_PREFIXES

SLUGS = sorted(DEFAULT_PREFIXES)

#: One instance of every error type, with its variants where a table may key on them.
SAMPLES = [
    errors.InvalidInput("phone", "invalid"),
    errors.AlreadyExists("phone"),
    errors.AlreadyExists("username"),
    errors.NotFound(),
    errors.InvalidCredentials(),
    errors.AccountDisabled(),
    errors.InvalidToken(),
    errors.RateLimited(30),
    errors.Unavailable("keycloak"),
    errors.NotImplementedYet(),
    errors.CodeRejected("wrong"),
    errors.CodeRejected("too_many_tries"),
    errors.DeliveryFailed("sms", "provider_down"),
    errors.DeliveryFailed("sms", "throttled"),
    errors.ExternalAuthRejected("wechat", "40029", "invalid_code"),
    falcon.HTTPNotFound(),
    falcon.HTTPMethodNotAllowed(["POST"]),
    RuntimeError("boom"),
]


def test_the_samples_cover_every_error_type():
    sampled = {type(sample).kind for sample in SAMPLES if isinstance(sample, errors.FacadeError)}
    assert sampled == all_error_kinds()


@pytest.mark.parametrize("slug", SLUGS)
def test_every_error_type_has_a_row_in_every_contract(slug):
    assert load_contract(slug).errors.missing_kinds() == set()


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("error", SAMPLES, ids=lambda e: type(e).__name__)
def test_every_error_renders_in_the_contracts_format_and_serialises(slug, error):
    import json

    contract = load_contract(slug)
    rendered = contract.render_error(error, None)
    assert 200 <= rendered.status < 600
    json.dumps(rendered.body, ensure_ascii=False)  # never a body that cannot be sent
    if isinstance(error, errors.FacadeError):
        assert rendered.status != 500, "a typed error fell through to the internal row"
    if isinstance(error, errors.RateLimited):
        assert rendered.headers["Retry-After"] == "30"


@pytest.mark.parametrize("slug", SLUGS)
def test_every_contract_publishes_a_valid_openapi_3_1_document(slug):
    document = build_document(load_contract(slug), DEFAULT_PREFIXES[slug])
    assert document["openapi"].startswith("3.1")
    assert list(OpenAPIV31SpecValidator(document).iter_errors()) == []
    assert document["servers"] == [{"url": DEFAULT_PREFIXES[slug]}]
