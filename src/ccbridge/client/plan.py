"""The plan: what apply would do to make the server hold the desired subscriptions. Pure.

Desired and current subscriptions are matched by `name`. A desired one is unchanged when every
field it states has that value on the server: the fields the server assigns
(`core.dialects.SERVER_FIELDS`: id, state, dates, the secret) and the defaults it fills in (a
dead-letter retention, say) are not differences, but clearing a filter, pattern or description
the server still has is a change. Credentials (header values, URL passwords) are answered masked,
so they are compared masked: changing only a credential's secret part is not seen as a change
(as with the secret, a rotated credential alone is not seen). Apply marks what it writes with
the label `managed-by: ccbridge`; only subscriptions carrying it are ever deleted, so foreign ones
are left alone. A desired name that exists unmanaged is updated, and thereby adopted.

Idempotency keys (seed 001): a create carries the SHA-256 hex of the canonical JSON of its payload.
An update's key hashes the payload together with the subscription id and the `updatedDate` it
replaces, so retries of one apply share a key while a later revert to an earlier payload is not
mistaken for a replay of the earlier update; a delete's key hashes the id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ccbridge.client.api import canonical_json
from ccbridge.core.dialects import SERVER_FIELDS
from ccbridge.core.subscription_masks import mask_body
from ccbridge.errors import FieldError

MANAGED_KEY, MANAGED_VALUE = "managed-by", "ccbridge"
CLEARABLE: dict[str, Any] = {"description": "", "filters": [], "filter": "", "pattern": None}
_MISSING: Any = object()

Kind = Literal["create", "update", "delete", "unchanged"]


def idempotency_key(payload: Any) -> str:
    """Seed 001's key: SHA-256 hex of the canonical JSON (sorted keys, no spaces) of `payload`."""
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def update_key(subscription_id: str, payload: dict[str, Any], base: Any) -> str:
    return idempotency_key({"subscriptionId": subscription_id, "payload": payload, "replaces": base})


def delete_key(subscription_id: str) -> str:
    return idempotency_key({"delete": subscription_id})


def is_managed(resource: dict[str, Any]) -> bool:
    labels = resource.get("labels")
    return isinstance(labels, dict) and labels.get(MANAGED_KEY) == MANAGED_VALUE


def desired_payload(entry: dict[str, Any]) -> dict[str, Any]:
    """The body apply sends: the config entry as written, plus the managed-by label.

    `labels` that are not a mapping are left as written, for validation to refuse.
    """
    labels = entry.get("labels")
    if labels is not None and not isinstance(labels, dict):
        return dict(entry)
    return {**entry, "labels": {**(labels or {}), MANAGED_KEY: MANAGED_VALUE}}


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field a plan changes: its path (`endpoints[0].url`), the server's value and the desired one."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class Action:
    """What apply does for one subscription; `payload` is the body it sends, `current` the server's."""

    kind: Kind
    name: str
    id: str | None = None
    payload: dict[str, Any] | None = None
    current: dict[str, Any] | None = None
    changes: tuple[FieldChange, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.kind,
            "name": self.name,
            "id": self.id,
            "changes": [{"field": c.field, "before": c.before, "after": c.after} for c in self.changes],
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """The actions in the order `make_plan` found them; `as_dict` is the `--json` document."""

    actions: tuple[Action, ...] = field(default_factory=tuple)

    @property
    def has_changes(self) -> bool:
        return any(a.kind != "unchanged" for a in self.actions)

    def counts(self) -> dict[str, int]:
        kinds: tuple[Kind, ...] = ("create", "update", "delete", "unchanged")
        return {k: sum(a.kind == k for a in self.actions) for k in kinds}

    def as_dict(self) -> dict[str, Any]:
        return {
            "changes": self.has_changes,
            "summary": self.counts(),
            "actions": [a.as_dict() for a in self.actions],
        }


def _same(want: Any, have: Any) -> bool:
    if isinstance(want, bool) or isinstance(have, bool):
        return type(want) is type(have) and want == have
    return bool(want == have)


def _diff(path: str, want: Any, have: Any, out: list[FieldChange]) -> None:
    if isinstance(want, dict) and isinstance(have, dict):
        for key, value in want.items():
            _diff(f"{path}.{key}" if path else key, value, have.get(key, _MISSING), out)
    elif isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        for i, (w, h) in enumerate(zip(want, have, strict=True)):
            _diff(f"{path}[{i}]", w, h, out)
    elif have is _MISSING:
        if want is not None:
            out.append(FieldChange(path, None, want))
    elif not _same(want, have):
        out.append(FieldChange(path, have, want))


def diff(desired: dict[str, Any], current: dict[str, Any]) -> list[FieldChange]:
    """What the server's `current` lacks of `desired`, field by field (server fields ignored).

    The server answers credentials masked (`core.subscription_masks.mask_body`), so `desired` is compared
    masked the same way: a credential that differs only in its secret part is no difference (the
    plan cannot see it), and a change shows no secret.
    """
    changes: list[FieldChange] = []
    wanted = mask_body({k: v for k, v in desired.items() if k not in SERVER_FIELDS})
    _diff("", wanted, current, changes)
    for key, empty in CLEARABLE.items():
        if key not in desired and current.get(key) not in (None, empty, [], {}, ""):
            changes.append(FieldChange(key, current[key], empty))
    return changes


def make_plan(desired: Sequence[dict[str, Any]], current: Sequence[dict[str, Any]]) -> Plan:
    """Creates and updates in config order, then deletes of managed subscriptions no longer desired."""
    by_name = {str(c.get("name")): c for c in current}
    actions: list[Action] = []
    for entry in desired:
        payload = desired_payload(entry)
        name = str(entry["name"])
        existing = by_name.get(name)
        if existing is None:
            actions.append(Action("create", name, payload=payload))
            continue
        changes = tuple(diff(payload, existing))
        kind: Kind = "update" if changes else "unchanged"
        actions.append(Action(kind, name, str(existing.get("id")), payload, existing, changes))
    wanted = {str(e["name"]) for e in desired}
    for resource in current:
        if is_managed(resource) and str(resource.get("name")) not in wanted:
            actions.append(
                Action("delete", str(resource.get("name")), str(resource.get("id")), None, resource)
            )
    return Plan(tuple(actions))


def quota_errors(plan: Plan, existing: int, max_subscriptions: int) -> list[FieldError]:
    """The quota counts every subscription on the server, foreign ones too."""
    counts = plan.counts()
    after = existing + counts["create"] - counts["delete"]
    if after <= max_subscriptions:
        return []
    message = f"{after} subscriptions would exist, over limits.max_subscriptions ({max_subscriptions})"
    return [FieldError("subscriptions", message)]
