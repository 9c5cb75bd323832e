"""Credentials in a subscription body, masked for answers and restored on a PUT that sends masked
values back: the two walk the same places (endpoint URLs of both dialects, the dead-letter endpoint,
Genesys delivery headers), so they share one walk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ccbridge.core.event import Subscription
from ccbridge.core.redact import MASK, has_masked_credential, mask_headers, mask_url


def mask_body(body: dict[str, Any]) -> dict[str, Any]:
    """`body` (either dialect) with its endpoints' credentials masked; other fields as they are.

    Shapes that are not what `validate_subscription` accepts are left as they are, so a plan can
    mask a declaration before it is validated.
    """

    def masked_headers(headers: dict[str, Any]) -> dict[str, Any]:
        return {**headers, **mask_headers({k: v for k, v in headers.items() if isinstance(v, str)})}

    return _map_credentials(body, mask_url, masked_headers)


def restore_masked(body: Any, existing: Subscription) -> Any:
    """`body` with each masked credential replaced by the stored one it masks.

    A masked URL is restored from the stored endpoint or dead-letter URL that masks to the same
    text (so only the credentials may have been masked, not the host or path changed); a header
    whose value is `MASK` from the stored header of the same name (in any case). What has no stored
    counterpart stays masked, for validation to refuse.
    """
    if not isinstance(body, dict):
        return body
    stored = [e.url for e in existing.endpoints]
    if existing.dead_letter.endpoint_url:
        stored.append(existing.dead_letter.endpoint_url)

    def restore(url: str) -> str:
        if has_masked_credential(url):
            return next((s for s in stored if mask_url(s) == url), url)
        return url

    by_name = {k.lower(): v for k, v in existing.headers.items()}

    def restored_headers(headers: dict[str, Any]) -> dict[str, Any]:
        return {k: by_name.get(k.lower(), v) if v == MASK else v for k, v in headers.items()}

    return _map_credentials(body, restore, restored_headers)


def _with_url(obj: Any, key: str, change: Callable[[str], str]) -> Any:
    """A copy of the object `obj` with `obj[key]` changed (a string URL only); anything else as is."""
    if not isinstance(obj, dict) or not isinstance(obj.get(key), str):
        return obj
    return {**obj, key: change(obj[key])}


def _map_credentials(
    body: dict[str, Any],
    url: Callable[[str], str],
    headers: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """`body` with `url` applied to every endpoint URL (both dialects' endpoints and the dead-letter
    endpoint) and `headers` to the Genesys delivery headers: the places credentials live."""
    out = dict(body)
    if isinstance(endpoints := out.get("endpoints"), list):
        out["endpoints"] = [_with_url(e, "url", url) for e in endpoints]
    if isinstance(dead := out.get("deadLetterQueue"), dict):
        out["deadLetterQueue"] = _with_url(dead, "endpointUrl", url)
    config = out.get("deliveryConfig")
    if isinstance(config, dict):
        out["deliveryConfig"] = _map_target(config, url, headers)
    elif isinstance(config, list):
        out["deliveryConfig"] = [_map_target(t, url, headers) if isinstance(t, dict) else t for t in config]
    return out


def _map_target(
    config: dict[str, Any], url: Callable[[str], str], headers: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """One Genesys `deliveryConfig` target with `url` applied to its URL and `headers` to its headers."""
    config = dict(_with_url(config, "url", url))
    if isinstance(given := config.get("headers"), dict):
        config["headers"] = headers(given)
    return config
