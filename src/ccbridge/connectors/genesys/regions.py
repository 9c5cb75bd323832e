"""Where a Genesys Cloud org lives: region names (AWS style) to domains, domains to hosts.

The table is Genesys' own list of regions; the API host is `api.<domain>`, the login (OAuth)
host `login.<domain>`. `api_url` / `login_url` in the config override either (a proxy, a test).
"""

from __future__ import annotations

from ccbridge.config.connectors import GenesysConnectorConfig
from ccbridge.errors import ConfigError

REGIONS: dict[str, str] = {
    "us-east-1": "mypurecloud.com",
    "us-east-2": "use2.us-gov-pure.cloud",
    "us-west-2": "usw2.pure.cloud",
    "ca-central-1": "cac1.pure.cloud",
    "eu-west-1": "mypurecloud.ie",
    "eu-west-2": "euw2.pure.cloud",
    "eu-central-1": "mypurecloud.de",
    "eu-central-2": "euc2.pure.cloud",
    "ap-northeast-1": "mypurecloud.jp",
    "ap-northeast-2": "apne2.pure.cloud",
    "ap-northeast-3": "apne3.pure.cloud",
    "ap-south-1": "aps1.pure.cloud",
    "ap-southeast-2": "mypurecloud.com.au",
    "sa-east-1": "sae1.pure.cloud",
    "me-central-1": "mec1.pure.cloud",
}


def domain_of(config: GenesysConnectorConfig, path: str) -> str | None:
    """The org's domain from `region` or `domain`; ConfigError (naming `path`.region) for an unknown
    region. None when neither is given (both URLs are then set explicitly)."""
    if config.domain is not None:
        return config.domain.strip().lower().removeprefix("https://").strip("/")
    if config.region is None:
        return None
    region = config.region.strip().lower()
    if region not in REGIONS:
        raise ConfigError(f"{path}.region", f"unknown region {config.region!r}; one of {', '.join(REGIONS)}")
    return REGIONS[region]


def hosts(config: GenesysConnectorConfig, path: str) -> tuple[str, str]:
    """(api_url, login_url) without a trailing slash: the overrides, else from the domain."""
    domain = domain_of(config, path)
    api = config.api_url or f"https://api.{domain}"
    login = config.login_url or f"https://login.{domain}"
    return api.rstrip("/"), login.rstrip("/")
