"""The root config: typed sections, every problem at once with its key path, `${VAR}`, and
`CCBRIDGE_SECTION__KEY` overrides over the file (with an injected environment, never os.environ)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from ccbridge.client import ApiConfig, AuditConfig, PublishConfig, RegistryConfig
from ccbridge.client.config import parse_section
from ccbridge.config import Config, IngestConfig, error_path, load_config, parse_config
from ccbridge.errors import ConfigError
from ccbridge.ingest.testing import orders_source

ROOT = Path(__file__).resolve().parents[2]
CLIENT = {"id": "crm", "secret": "long-enough-secret"}


def problems(raw: Any, env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, env=env or {})
    return caught.value.problems


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    """Three mistakes in three sections: one ConfigError listing all three, each with its key path."""
    found = problems(
        {
            "server": {"port": 70000},
            "auth": {"clients": [{"id": "a", "secret": "short", "scop": []}]},
            "delivery": {"enabled": "maybe"},
        }
    )
    assert [path for path, _ in found] == [
        "server.port",
        "auth.clients[0].secret",
        "auth.clients[0].scop",
        "delivery.enabled",
    ]
    assert dict(found)["auth.clients[0].secret"] == "must be at least 8 characters"
    assert dict(found)["auth.clients[0].scop"] == "unknown key"


def test_config_error_keeps_the_first_problem_as_path_and_message() -> None:
    """`.path`/`.message` are the first problem's; `str()` joins them all on one line."""
    with pytest.raises(ConfigError) as caught:
        parse_config({"server": {"colour": 1}, "limits": {"nope": 2}}, env={})
    error = caught.value
    assert (error.path, error.message) == ("server.colour", "unknown key")
    assert str(error) == "server.colour: unknown key; limits.nope: unknown key"
    assert error.lines() == ["server.colour: unknown key", "limits.nope: unknown key"]


def test_messages_never_echo_the_rejected_value() -> None:
    """A too-short secret is refused without the secret appearing anywhere in the error."""
    raw = {"auth": {"clients": [{"id": "a", "secret": "s3cr3t"}]}, "registry": {"webhook_url": "x"}}
    text = str(problems(raw))
    assert "s3cr3t" not in text and "registry.secret" in text


def test_cross_entry_checks_are_reported_with_the_rest() -> None:
    """Unknown scopes, repeated client ids and bad CIDR networks come with the other problems
    (ids are compared once every client entry is itself valid)."""
    found = problems(
        {
            "auth": {"clients": [CLIENT, {**CLIENT, "scopes": ["eventbridge:events:write", "x:y"]}]},
            "delivery": {"allowed_networks": ["10.0.0.0/8", "not-a-net"]},
        }
    )
    assert found == [
        ("auth.clients[1].scopes[1]", "unknown scope 'x:y'"),
        ("delivery.allowed_networks[1]", "not a CIDR network: 'not-a-net'"),
    ]
    found = problems({"auth": {"clients": [CLIENT, CLIENT]}, "server": {"port": -1}})
    assert found == [
        ("server.port", "Input should be greater than or equal to 0"),
        ("auth.clients", "client ids must be unique; repeated: crm"),
    ]


def test_singular_subscription_scopes_are_accepted() -> None:
    """The documents also spell `eventbridge:subscription:read`; both spellings are known scopes."""
    config = parse_config({"auth": {"clients": [{**CLIENT, "scopes": ["eventbridge:subscription:read"]}]}})
    assert config.auth.clients[0].scopes == ["eventbridge:subscription:read"]


def test_client_and_gateway_sections_are_typed_fields() -> None:
    """`api`, `publish`, `audit`, `registry` and `ingest` come back as their models, not mappings."""
    config = parse_config(
        {
            "api": {"base_url": "https://bridge.example/", "client_id": "c", "client_secret": "s"},
            "publish": {"event_types": {"OrderCreated": {"schema": "o.json", "business_key": "orderId"}}},
            "audit": {"path": "audit.jsonl"},
            "registry": {"webhook_url": "https://registry.example/hook", "secret": "x"},
            "ingest": {"jwt": {"jwks_url": "https://keys.example/jwks"}, "sources": [orders_source()]},
            "subscriptions": [{"name": "s", "eventType": "contact.created"}],
        },
        env={},
    )
    assert isinstance(config.api, ApiConfig) and config.api.base_url == "https://bridge.example"
    assert isinstance(config.publish, PublishConfig)
    assert config.publish.event_types["OrderCreated"].schema_ == "o.json"
    assert isinstance(config.audit, AuditConfig) and isinstance(config.registry, RegistryConfig)
    assert isinstance(config.ingest, IngestConfig) and config.ingest.sources[0].name == "orders"
    assert config.subscriptions == [{"name": "s", "eventType": "contact.created"}]
    assert parse_section(ApiConfig, config.api, "api") is config.api


def test_section_errors_carry_their_section_path() -> None:
    """A mistake inside a typed section names the full path, with every other problem of the file."""
    found = problems(
        {
            "api": {"base_url": "ftp://x", "client_id": "c", "client_secret": "s", "colour": 1},
            "ingest": {"jwt": {"public_key_files": []}, "sources": [orders_source()]},
            "audit": {},
        }
    )
    assert dict(found) == {
        "api.base_url": "must be an http(s) URL with a host",
        "api.colour": "unknown key",
        "ingest.jwt": "give public_key_pem, public_key_files or jwks_url (or several)",
        "audit.path": "Field required",
    }


def test_a_section_validated_alone_reports_every_problem() -> None:
    """`parse_section` (the client's entry point for one section) uses the same translation."""
    with pytest.raises(ConfigError) as caught:
        parse_section(ApiConfig, {"base_url": "nope", "client_secret": "s"}, "api")
    assert [p for p, _ in caught.value.problems] == ["api.base_url", "api.client_id"]


def test_error_path_formats_indexes_and_roots() -> None:
    assert error_path(("auth", "clients", 0, "secret")) == "auth.clients[0].secret"
    assert error_path((0, "id"), "subscriptions") == "subscriptions[0].id"
    assert error_path(()) == ""


def test_a_loaded_config_cannot_be_changed() -> None:
    """Components share one config; every section, the client ones included, is frozen."""
    config = parse_config({"audit": {"path": "a.jsonl"}}, env={})
    assert config.audit is not None
    with pytest.raises(ValueError, match="frozen"):
        config.audit.path = "b.jsonl"  # type: ignore[misc]


# --- ${VAR} -----------------------------------------------------------------------------------


def test_vars_in_the_file_are_expanded_from_the_injected_environment() -> None:
    """`${VAR}` and `${VAR:-default}` substitute into string values, from `env` only."""
    raw = {
        "server": {"host": "${HOST}", "port": "${PORT:-8123}"},
        "auth": {"clients": [{"id": "a", "secret": "${SECRET}"}]},
    }
    config = parse_config(raw, env={"HOST": "0.0.0.0", "SECRET": "from-the-env-123"})
    assert (config.server.host, config.server.port) == ("0.0.0.0", 8123)
    assert config.auth.clients[0].secret.get_secret_value() == "from-the-env-123"


def test_every_unset_var_is_reported_once_with_its_key() -> None:
    """An unset `${VAR}` names its key, once (not again as an invalid value), with the other problems."""
    found = problems({"server": {"port": "${PORT}", "host": "${HOST}"}, "limits": {"x": 1}})
    assert found == [
        ("server.port", "environment variable PORT is not set"),
        ("server.host", "environment variable HOST is not set"),
        ("limits.x", "unknown key"),
    ]


def test_examples_validate() -> None:
    """Every example config loads with an empty environment (its `${VAR:-default}` defaults)."""
    examples = sorted((ROOT / "examples").glob("*.yaml"))
    assert examples
    for example in examples:
        load_config(example, env={})


# --- CCBRIDGE_* overrides ---------------------------------------------------------------------


def test_overrides_at_one_two_and_three_levels() -> None:
    """`CCBRIDGE_KEY`, `CCBRIDGE_SECTION__KEY`, `CCBRIDGE_A__B__C`, parsed as YAML for non-text keys."""
    raw = {"ingest": {"jwt": {"jwks_url": "https://keys.example/jwks"}, "sources": [orders_source()]}}
    env = {
        "CCBRIDGE_EVENT_TYPES": '["contact.created", "custom.x"]',
        "CCBRIDGE_SERVER__PORT": "9000",
        "CCBRIDGE_DELIVERY__ENABLED": "false",
        "CCBRIDGE_INGEST__JWT__LEEWAY_SECONDS": "5.5",
        "CCBRIDGE_INGEST__RATE_LIMIT__PER_SUBJECT_PER_SECOND": "20",
    }
    config = parse_config(raw, env=env)
    assert config.event_types == ["contact.created", "custom.x"]
    assert config.server.port == 9000 and config.delivery.enabled is False
    assert config.ingest is not None and config.ingest.jwt.leeway_seconds == 5.5
    assert config.ingest.rate_limit is not None and config.ingest.rate_limit.per_subject_per_second == 20


def test_overrides_win_over_the_file_after_its_vars_are_expanded() -> None:
    """The file's `${PORT}` is expanded first; the override then replaces the result."""
    config = parse_config(
        {"server": {"port": "${PORT}", "host": "127.0.0.2"}},
        env={"PORT": "1111", "CCBRIDGE_SERVER__PORT": "2222"},
    )
    assert (config.server.host, config.server.port) == ("127.0.0.2", 2222)


def test_override_names_are_case_insensitive() -> None:
    config = parse_config({}, env={"ccbridge_Logging__Level": "debug", "CCBRIDGE_STORE__RETENTION_DAYS": "2"})
    assert config.logging.level == "debug" and config.store.retention_days == 2


def test_lists_and_mappings_are_set_whole_as_json_or_yaml() -> None:
    """A list of entries (`auth.clients`) or networks is one variable holding JSON (or YAML flow)."""
    env = {
        "CCBRIDGE_AUTH__CLIENTS": '[{"id": "ops", "secret": "ops-secret-123"}]',
        "CCBRIDGE_DELIVERY__ALLOWED_NETWORKS": "[10.0.0.0/8, '::1/128']",
    }
    config = parse_config({"auth": {"clients": [CLIENT]}}, env=env)
    assert [c.id for c in config.auth.clients] == ["ops"]
    assert config.delivery.allowed_networks == ["10.0.0.0/8", "::1/128"]


def test_text_keys_take_the_variable_verbatim() -> None:
    """Text keys are not YAML-parsed: a secret `0123456789` or `yes-or-no` stays the text it is."""
    env = {
        "CCBRIDGE_API__BASE_URL": "http://127.0.0.1:8080",
        "CCBRIDGE_API__CLIENT_ID": "0123",
        "CCBRIDGE_API__CLIENT_SECRET": "0123456789",
        "CCBRIDGE_INBOUND__SOURCE": "on",
        "CCBRIDGE_FAULTS__SEED": "null",
    }
    config = parse_config({"faults": {"seed": 7}}, env=env)
    assert config.api is not None
    assert config.api.client_id == "0123" and config.api.client_secret.get_secret_value() == "0123456789"
    assert config.inbound.source == "on" and config.faults.seed is None


def test_a_whole_section_and_its_keys_combine() -> None:
    """`CCBRIDGE_SERVER` (a mapping) is applied before the deeper `CCBRIDGE_SERVER__PORT`."""
    env = {"CCBRIDGE_SERVER__PORT": "9000", "CCBRIDGE_SERVER": '{"host": "0.0.0.0", "port": 1}'}
    config = parse_config({"server": {"host": "127.0.0.1"}}, env=env)
    assert (config.server.host, config.server.port) == ("0.0.0.0", 9000)


def test_an_override_can_create_an_absent_section() -> None:
    config = parse_config({}, env={"CCBRIDGE_AUDIT__PATH": "/var/log/ccbridge/audit.jsonl"})
    assert config.audit == AuditConfig(path="/var/log/ccbridge/audit.jsonl")


def test_bad_override_values_name_the_key_and_the_variable() -> None:
    """A value the key refuses, or text that is no YAML, is reported with the variable's name."""
    env = {"CCBRIDGE_SERVER__PORT": "not-a-port", "CCBRIDGE_LIMITS__MAX_ENDPOINTS": "[unclosed"}
    found = dict(problems({}, env))
    assert found["server.port"].endswith("(from CCBRIDGE_SERVER__PORT)")
    assert "valid integer" in found["server.port"]
    assert found["limits.max_endpoints"] == "CCBRIDGE_LIMITS__MAX_ENDPOINTS is not a YAML or JSON value"


def test_overrides_naming_unknown_keys_are_errors_naming_the_variable() -> None:
    """An unknown key at any level, or a key inside a set-whole field, names the variable."""
    env = {
        "CCBRIDGE_SERVER__PORTT": "1",
        "CCBRIDGE_SERVR__PORT": "1",
        "CCBRIDGE_AUTH__CLIENTS__0__ID": "x",
        "CCBRIDGE_SERVER__": "1",
    }
    assert sorted(problems({}, env)) == [
        (
            "auth.clients",
            "is set whole (YAML or JSON); what it holds has no variables of its own"
            " (from CCBRIDGE_AUTH__CLIENTS__0__ID)",
        ),
        ("server.", "empty key name between '__' (from CCBRIDGE_SERVER__)"),
        ("server.portt", "unknown key (from CCBRIDGE_SERVER__PORTT)"),
        ("servr", "unknown key (from CCBRIDGE_SERVR__PORT)"),
    ]


def test_one_key_set_by_two_variables_is_an_error() -> None:
    found = problems({}, {"CCBRIDGE_SERVER__PORT": "1", "ccbridge_server__port": "2"})
    assert found == [("server.port", "set by both CCBRIDGE_SERVER__PORT and ccbridge_server__port")]


def test_an_override_into_a_non_mapping_of_the_file_is_an_error() -> None:
    found = problems({"server": 5}, {"CCBRIDGE_SERVER__PORT": "1"})
    assert found[0] == ("server", "is not a mapping in the file, so CCBRIDGE_SERVER__PORT cannot set a key")


def test_variables_that_are_not_overrides_are_ignored() -> None:
    """Unprefixed variables, and prefixed ones without `__` naming no key (a `${VAR}` source such
    as the example's CCBRIDGE_CRM_SECRET), are not overrides; `base_dir` is not a key."""
    env = {
        "SERVER__PORT": "1",
        "CCBRIDGE_CRM_SECRET": "crm-secret-from-env",
        "CCBRIDGE_BASE_DIR": "/elsewhere",
        "CCBRIDGE_": "x",
    }
    config = parse_config({"auth": {"clients": [{"id": "a", "secret": "${CCBRIDGE_CRM_SECRET}"}]}}, env=env)
    assert config.server.port == 8080 and config.base_dir == "."
    assert config.auth.clients[0].secret.get_secret_value() == "crm-secret-from-env"


def test_load_config_applies_overrides_from_the_given_environment(tmp_path: Path) -> None:
    """`load_config(path, env=...)` reads the file and applies that environment, not os.environ."""
    path = tmp_path / "ccbridge.yaml"
    path.write_text(yaml.safe_dump({"server": {"port": 8080}, "audit": {"path": "audit.jsonl"}}))
    config = load_config(path, env={"CCBRIDGE_SERVER__PORT": "9100"})
    assert config.server.port == 9100 and config.base_dir == str(tmp_path.resolve())


def test_the_root_model_lists_every_section() -> None:
    """The fixed keys of the file (ARCHITECTURE: config keys are an interface)."""
    assert set(Config.model_fields) == {
        "server", "store", "auth", "limits", "event_types", "delivery", "inbound", "faults", "logging",
        "api", "subscriptions", "publish", "audit", "registry", "ingest", "connectors", "base_dir",
        "log", "tracing",
    }  # fmt: skip


def test_loading_a_config_imports_no_part_of_the_server() -> None:
    """`ccbridge.config` stays light (the client and core import it): no gateway, HTTP or adapters."""
    probe = (
        "import sys, ccbridge.config; "
        "print(sorted(m for m in sys.modules if m.startswith(('ccbridge.', 'fastapi', 'httpx', 'jwt', 'grpc'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    loaded = ast.literal_eval(out)
    assert loaded and all(m.startswith(("ccbridge.config", "ccbridge.errors")) for m in loaded), loaded


def test_connectors_section_takes_the_fixed_keys_and_refuses_a_repeated_name() -> None:
    doc = {
        "connectors": {
            "genesys": [
                {
                    "name": "gc-prod",
                    "region": "us-east-1",
                    "client_id": "id",
                    "client_secret": "s3cret-value",
                    "topics": [
                        "v2.users.u1.presence",
                        {"topic": "v2.routing.queues.{id}.conversations", "ids": ["q-1"]},
                    ],
                }
            ],
            "aws_eventbridge": {"api_keys": ["k-123"]},
            "cxone": [
                {
                    "name": "gc-prod",
                    "access_key_id": "a",
                    "access_key_secret": "b",
                    "client_id": "c",
                    "client_secret": "d",
                    "agents": ["1"],
                }
            ],
        }
    }
    with pytest.raises(ValidationError) as caught:
        Config.model_validate(doc)
    assert "connector names must be unique; repeated: gc-prod" in str(caught.value)
    doc["connectors"]["cxone"][0]["name"] = "cx-prod"  # type: ignore[index]
    loaded = Config.model_validate(doc).connectors
    assert [c.name for c in loaded.genesys] == ["gc-prod"] and loaded.cxone[0].name == "cx-prod"
    assert "s3cret-value" not in repr(loaded)
