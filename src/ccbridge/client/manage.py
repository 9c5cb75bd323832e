"""Config-driven workflows: what `ccbridge subscriptions ...`, `publish` and the demo run.

Each takes the loaded config (`ccbridge.config.Config`, read by attribute name) and a client.
Invalid input raises `InputError` listing every field at fault with its config path, before any
request; a bad section raises `ConfigError` naming its key. Subscriptions are checked by the
server's own parser against the limits the config states (`client.validate`). Relative paths in the config (schemas,
the audit file) start at the config file's folder (`config.base_dir`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccbridge.client.api import BridgeClient
from ccbridge.client.apply import ApplyReport, apply_plan
from ccbridge.client.config import AuditConfig, PublishConfig, RegistryConfig, parse_section
from ccbridge.client.plan import Plan, is_managed, make_plan, quota_errors
from ccbridge.client.registry import RegistryFailure, RegistrySync
from ccbridge.client.validate import as_sent, validate_subscriptions
from ccbridge.core.dialects import Limits
from ccbridge.errors import ConfigError, InputError
from ccbridge.observability.audit import AuditLog

DEFAULT_MAX_ENDPOINTS = 10
DEFAULT_MAX_SUBSCRIPTIONS = 100


def _limit(config: Any, name: str, default: int) -> int:
    return int(getattr(getattr(config, "limits", None), name, default) or default)


def _resolve(config: Any, path: str) -> str:
    candidate = Path(path)
    return str(candidate if candidate.is_absolute() else Path(getattr(config, "base_dir", ".")) / candidate)


def subscription_limits(config: Any) -> Limits:
    """What the config's server allows a subscription: `limits.max_endpoints`, its `event_types`."""
    return Limits(_limit(config, "max_endpoints", DEFAULT_MAX_ENDPOINTS), config.event_type_known)


def desired_subscriptions(config: Any) -> list[dict[str, Any]]:
    """The config's `subscriptions` as they will be sent (JSON), checked; InputError lists every problem."""
    entries = list(getattr(config, "subscriptions", None) or [])
    errors = validate_subscriptions(entries, subscription_limits(config))
    if errors:
        raise InputError(errors, title="invalid subscriptions")
    return [as_sent(entry) for entry in entries]


async def plan_subscriptions(client: BridgeClient, config: Any) -> Plan:
    """Validates, reads the server, and plans; the quota counts what exists (InputError if over)."""
    desired = desired_subscriptions(config)
    current = await client.list_subscriptions()
    plan = make_plan(desired, current)
    errors = quota_errors(plan, len(current), _limit(config, "max_subscriptions", DEFAULT_MAX_SUBSCRIPTIONS))
    if errors:
        raise InputError(errors, title="over quota")
    return plan


def audit_log(config: Any) -> AuditLog | None:
    raw = getattr(config, "audit", None)
    return None if raw is None else AuditLog(_resolve(config, parse_section(AuditConfig, raw, "audit").path))


def registry_sync(config: Any) -> RegistrySync | None:
    raw = getattr(config, "registry", None)
    return None if raw is None else RegistrySync(parse_section(RegistryConfig, raw, "registry"))


@dataclass(slots=True)
class Applied:
    report: ApplyReport
    registry_failures: list[RegistryFailure] = field(default_factory=list)


async def apply_subscriptions(
    client: BridgeClient, config: Any, plan: Plan, *, registry_grace: float = 30.0
) -> Applied:
    """Carries `plan` out with the config's audit log and registry; registry failures are returned."""
    audit = audit_log(config)
    registry = registry_sync(config)
    try:
        report = await apply_plan(client, plan, audit=audit, registry=registry)
    finally:
        failures = await registry.drain(registry_grace) if registry is not None else []
    return Applied(report, failures)


def status_targets(config: Any, current: list[dict[str, Any]]) -> tuple[dict[str, str], list[str]]:
    """`{name: id}` of the desired and managed subscriptions on the server, and desired names missing."""
    names = [str(e.get("name")) for e in getattr(config, "subscriptions", None) or [] if isinstance(e, dict)]
    by_name = {str(r.get("name")): str(r.get("id")) for r in current}
    targets = {n: by_name[n] for n in names if n in by_name}
    for resource in current:
        if is_managed(resource):
            targets.setdefault(str(resource.get("name")), str(resource.get("id")))
    return targets, [n for n in names if n not in by_name]


def publish_settings(config: Any) -> PublishConfig:
    """The `publish` section with schema paths resolved; ConfigError when it is absent."""
    raw = getattr(config, "publish", None)
    if raw is None:
        raise ConfigError("publish", "missing: publishing needs publish.event_types with a schema per type")
    settings = parse_section(PublishConfig, raw, "publish")
    resolved = {
        name: spec.model_copy(update={"schema_": _resolve(config, spec.schema_)})
        for name, spec in settings.event_types.items()
    }
    return settings.model_copy(update={"event_types": resolved})
