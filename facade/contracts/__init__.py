"""Contract adapters, one package per client app, loaded by slug."""

from __future__ import annotations

import importlib

from facade.http.contract import Contract


def load_contract(slug: str) -> Contract:
    module = importlib.import_module(f"facade.contracts.{slug}")
    contract: Contract = module.contract
    return contract
