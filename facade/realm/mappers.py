"""Protocol mappers brought to a wanted list, whether a client scope or a client holds them.

``realm apply`` keeps mappers in two places: ``sso.json``'s client scopes and the contract
clients' own ``facade_profile`` mappers. The admin API edits each with other calls, so
:class:`MapperOwner` names those calls and :func:`sync_mappers` does the comparing once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from keycloak import KeycloakAdmin


@dataclass(frozen=True)
class MapperOwner:
    """What holds protocol mappers (a client scope, a client), as the admin API edits them."""

    label: str
    add: Callable[[dict[str, Any]], object]
    update: Callable[[str, dict[str, Any]], object]
    remove: Callable[[str], object]


def scope_mapper_owner(admin: KeycloakAdmin, name: str, scope_id: str) -> MapperOwner:
    return MapperOwner(
        label=name,
        add=lambda payload: admin.add_mapper_to_client_scope(scope_id, payload),
        update=lambda mapper_id, payload: admin.update_mapper_in_client_scope(
            scope_id, mapper_id, payload
        ),
        remove=lambda mapper_id: admin.delete_mapper_from_client_scope(scope_id, mapper_id),
    )


def client_mapper_owner(admin: KeycloakAdmin, client_id: str, client_uuid: str) -> MapperOwner:
    return MapperOwner(
        label=client_id,
        add=lambda payload: admin.add_mapper_to_client(client_uuid, payload),
        update=lambda mapper_id, payload: admin.update_client_mapper(
            client_uuid, mapper_id, payload
        ),
        remove=lambda mapper_id: admin.remove_client_mapper(client_uuid, mapper_id),
    )


def sync_mappers(
    owner: MapperOwner,
    current: list[dict[str, Any]],
    wanted: list[dict[str, Any]],
    removed: Iterable[str],
) -> list[str]:
    """Add or update each ``wanted`` mapper (matched by name) and remove the ``removed`` names
    ``current`` has; a line per change."""
    changes: list[str] = []
    mappers = {m["name"]: m for m in current}
    for name in removed:
        if name in mappers:
            owner.remove(mappers[name]["id"])
            changes.append(f"removed mapper {owner.label}/{name}")
    for mapper in wanted:
        payload = {**mapper, "protocol": "openid-connect"}
        existing = mappers.get(mapper["name"])
        if existing is None:
            owner.add(payload)
            changes.append(f"added mapper {owner.label}/{mapper['name']}")
        elif (
            existing.get("protocolMapper") != mapper["protocolMapper"]
            or existing.get("config") != mapper["config"]
        ):
            owner.update(existing["id"], {**payload, "id": existing["id"]})
            changes.append(f"updated mapper {owner.label}/{mapper['name']}")
    return changes
