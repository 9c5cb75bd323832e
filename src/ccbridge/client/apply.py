"""Carrying a plan out: idempotent writes, 409 adoption, audit lines and registry notifications.

Contract:
* Deletes run first (they free quota), then creates and updates in config order, one at a time.
* A failed action is recorded and the rest still run; `ApplyReport.ok` says whether all landed.
* Every write carries a deterministic idempotency key (`plan`), so re-running an apply that was
  interrupted after the server committed gets the stored answer instead of a second write.
* A 409 on create adopts the existing subscription: it is read (by `existingId`, else by name) and
  updated only if it differs from the desired payload.
* A delete answered 404 counts as done (someone else deleted it; the goal is reached).
* Each write, successful or not, appends one audit line when an `AuditLog` is given, unless the
  server's answer says the server wrote it (`X-Audit-Logged: server`, see `ccbridge.api.audit`), so
  a client and a server sharing an audit file give one line per write. Each successful one
  notifies the registry when a `RegistrySync` is given (in the background, never failing), unless
  the server posts that notice itself (`X-Registry-Sync: server`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ccbridge.client.api import BridgeClient, Reply
from ccbridge.client.errors import ApiConflictError, ApiError, ApiNotFoundError
from ccbridge.client.plan import Action, Plan, delete_key, diff, idempotency_key, update_key
from ccbridge.client.registry import RegistrySync
from ccbridge.observability.audit import AuditLog


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one action: status created | updated | adopted | deleted | failed."""

    action: str
    name: str
    id: str | None
    status: str
    error: str | None = None


@dataclass(slots=True)
class ApplyReport:
    """One outcome per action carried out, in the order they ran."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.status != "failed" for o in self.outcomes)

    @property
    def writes(self) -> int:
        return sum(o.status != "failed" for o in self.outcomes)


class _Applier:
    def __init__(self, client: BridgeClient, audit: AuditLog | None, registry: RegistrySync | None) -> None:
        self.client, self.audit, self.registry = client, audit, registry

    async def record(
        self,
        operation: str,
        sub_id: str | None,
        status: str,
        *,
        reply: Reply | None = None,
        key: str | None = None,
        state: str | None = None,
        error: ApiError | None = None,
    ) -> None:
        audited = (reply is not None and reply.server_audited) or (error is not None and error.server_audited)
        if self.audit is not None and not audited:
            request_id = None if reply is None else (reply.request_id or reply.correlation_id)
            if error is not None:
                request_id = error.request_id
            await self.audit.append(
                actor=self.client.client_id,
                operation=operation,
                subscription_id=sub_id,
                status=status,
                idempotency_key=key,
                request_id=request_id,
            )
        synced = reply is not None and reply.server_synced
        if self.registry is not None and status != "failed" and sub_id is not None and state and not synced:
            self.registry.notify(sub_id, state)

    async def delete(self, action: Action) -> Outcome:
        assert action.id is not None
        key = delete_key(action.id)
        missing: ApiNotFoundError | None = None
        try:
            reply: Reply | None = await self.client.delete_subscription(action.id, idempotency_key=key)
        except ApiNotFoundError as exc:
            reply, missing = None, exc
        await self.record(
            "delete", action.id, "deleted", reply=reply, key=key, state="deleted", error=missing
        )
        return Outcome("delete", action.name, action.id, "deleted")

    async def update(self, action: Action, current: dict[str, Any], status: str = "updated") -> Outcome:
        assert action.payload is not None
        sub_id = str(current.get("id"))
        key = update_key(sub_id, action.payload, current.get("updatedDate"))
        reply = await self.client.update_subscription(sub_id, action.payload, idempotency_key=key)
        await self.record("update", sub_id, status, reply=reply, key=key, state=_state(reply.body))
        return Outcome(action.kind, action.name, sub_id, status)

    async def create(self, action: Action) -> Outcome:
        assert action.payload is not None
        key = idempotency_key(action.payload)
        try:
            reply = await self.client.create_subscription(action.payload, idempotency_key=key)
        except ApiConflictError as exc:
            return await self.adopt(action, exc, key)
        sub_id = str(reply.body.get("id")) if isinstance(reply.body, dict) else None
        await self.record("create", sub_id, "created", reply=reply, key=key, state=_state(reply.body))
        return Outcome("create", action.name, sub_id, "created")

    async def adopt(self, action: Action, conflict: ApiConflictError, key: str) -> Outcome:
        assert action.payload is not None
        if conflict.existing_id:
            current = await self.client.get_subscription(conflict.existing_id)
        else:
            found = [s for s in await self.client.list_subscriptions() if s.get("name") == action.name]
            if not found:
                raise conflict
            current = found[0]
        sub_id = str(current.get("id"))
        await self.record("create", sub_id, "adopted", key=key, error=conflict)
        if diff(action.payload, current):
            return await self.update(action, current, status="adopted")
        return Outcome("create", action.name, sub_id, "adopted")

    async def run(self, action: Action) -> Outcome:
        try:
            if action.kind == "delete":
                return await self.delete(action)
            if action.kind == "create":
                return await self.create(action)
            assert action.current is not None
            return await self.update(action, action.current)
        except ApiError as exc:
            await self.record(action.kind, action.id, "failed", key=_key(action), error=exc)
            return Outcome(action.kind, action.name, action.id, "failed", str(exc))


def _key(action: Action) -> str | None:
    if action.kind == "create":
        return idempotency_key(action.payload)
    if action.kind == "delete" and action.id is not None:
        return delete_key(action.id)
    if action.kind == "update" and action.id is not None and action.payload is not None:
        return update_key(action.id, action.payload, (action.current or {}).get("updatedDate"))
    return None


def _state(body: Any) -> str:
    return str(body.get("state") or "active") if isinstance(body, dict) else "active"


async def apply_plan(
    client: BridgeClient,
    plan: Plan,
    *,
    audit: AuditLog | None = None,
    registry: RegistrySync | None = None,
) -> ApplyReport:
    """Performs every create, update and delete of `plan`; `unchanged` actions make no request."""
    applier = _Applier(client, audit, registry)
    report = ApplyReport()
    ordered = [a for a in plan.actions if a.kind == "delete"]
    ordered += [a for a in plan.actions if a.kind in ("create", "update")]
    for action in ordered:
        report.outcomes.append(await applier.run(action))
    return report
