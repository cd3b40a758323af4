"""``facade import <contract> <file>``: plan, report, and (without ``--dry-run``) run."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from keycloak import KeycloakAdmin

from facade.adapters.keycloak_import import operator_login
from facade.migration.importer import BATCH, Importer, Plan, Step
from facade.migration.rows import COLUMNS, read_export
from facade.settings import Settings

__all__ = ["ImportOptions", "build_importer", "operator_login", "run_import"]


@dataclass(frozen=True)
class ImportOptions:
    contract: str
    path: Path
    dry_run: bool = False
    rejects: Path | None = None
    report: Path | None = None
    hash_scheme: str | None = None
    uid_floor: int = 0
    batch: int = BATCH
    progress: bool = True


def build_importer(
    options: ImportOptions, admin: KeycloakAdmin, settings: Settings | None = None
) -> Importer:
    """The importer over the configured store and Keycloak (``FACADE_*`` settings); ``admin``
    is an operator's login (see :func:`operator_login`)."""
    from facade.adapters.identity_store import SqlIdentityStore
    from facade.adapters.keycloak import KeycloakGateway
    from facade.adapters.keycloak_import import KeycloakImportAdmin
    from facade.core.identity_ledger import IdentityLedger
    from facade.core.registration import new_invite_code

    settings = settings or Settings.from_env()
    store = SqlIdentityStore(settings.database_url, timeout=settings.database_timeout)
    gateway = KeycloakGateway(settings)
    ledger = IdentityLedger(store, gateway, new_invite_code)
    return Importer(
        options.contract,
        ledger,
        store,
        gateway,
        KeycloakImportAdmin(admin, settings.keycloak_realm),
        settings.keycloak_realm,
        new_invite_code,
        hash_scheme=options.hash_scheme,
        uid_floor=options.uid_floor,
        batch=options.batch,
    )


def run_import(options: ImportOptions, importer: Importer, out: TextIO = sys.stdout) -> Plan:
    """Plan the export; unless a dry run, carry the plan out with a progress bar; then write
    the summary, the rejects (the input's own format plus ``reason``) and the report."""
    from tqdm import tqdm

    started = time.monotonic()
    plan = importer.plan(read_export(options.path))
    planned = plan.counts()
    if not options.dry_run:
        work = planned["create"] + planned["merge"]
        with tqdm(total=work, unit="user", desc="import", disable=not options.progress) as bar:
            importer.run(plan, progress=bar.update)
    elapsed = time.monotonic() - started
    counts = plan.counts()
    verb = "would be" if options.dry_run else "were"
    print(f"{options.contract}: {len(plan.steps)} rows read from {options.path}", file=out)
    for action in ("create", "merge", "unchanged", "reject"):
        label = {"create": "created", "merge": "merged", "unchanged": "unchanged"}.get(
            action, "rejected"
        )
        print(f"  {label}: {counts[action]}", file=out)
    if not options.dry_run and counts != planned:
        print(f"  ({counts['reject'] - planned['reject']} changed during the run)", file=out)
    made = counts["create"] + counts["merge"]
    if made and not options.dry_run:
        print(
            f"  {made} users {verb} written in {elapsed:.1f} s ({made / elapsed:.0f}/s)", file=out
        )
    rejects = options.rejects or default_rejects_path(options.path)
    rejected = [step for step in plan.steps if step.action == "reject"]
    if rejected:
        write_rejects(rejects, rejected, csv_format=options.path.suffix.lower() == ".csv")
        print(f"  rejected rows and reasons: {rejects}", file=out)
    if options.report:
        write_report(options.report, plan.steps)
    return plan


def default_rejects_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejects{path.suffix or '.jsonl'}")


def write_rejects(path: Path, steps: Sequence[Step], *, csv_format: bool) -> None:
    """Rejected rows as they came, plus ``reason``: fixed rows can be imported again (the
    importer ignores the extra column)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        if csv_format:
            writer = csv.DictWriter(
                handle, fieldnames=[*COLUMNS, "reason"], extrasaction="ignore", restval=""
            )
            writer.writeheader()
            for step in steps:
                writer.writerow({**_raw(step), "reason": step.reason})
            return
        for step in steps:
            handle.write(json.dumps({**_raw(step), "reason": step.reason}, ensure_ascii=False))
            handle.write("\n")


def write_report(path: Path, steps: Sequence[Step]) -> None:
    """Every row's outcome, one JSON object a line (a dry run's report and the real run's
    compare line by line)."""
    with path.open("w", encoding="utf-8") as handle:
        for step in steps:
            handle.write(json.dumps(step.report(), ensure_ascii=False) + "\n")


def _raw(step: Step) -> dict[str, Any]:
    raw = step.raw if isinstance(step.raw, dict) else {}
    return {key: value for key, value in raw.items() if key != "_invalid"}
