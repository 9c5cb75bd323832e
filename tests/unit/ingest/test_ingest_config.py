"""The `ingest:` section: what compiles, and the ConfigError (with its key path) for what does not."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from ccbridge.errors import ConfigError
from ccbridge.ingest import compile_ingest
from ccbridge.ingest.config import IngestConfig
from ccbridge.ingest.testing import LegacyIssuer, orders_source

ISSUE_SECTION: dict[str, Any] = {
    "jwt": {
        "public_key_files": ["keys/erp-ec.pem", "keys/erp-rsa.pem"],
        "jwks_url": None,
        "issuer": "legacy-erp",
        "audience": "ccbridge",
        "algorithms": ["ES256", "RS256"],
        "leeway_seconds": 30,
        "required_claims": ["exp", "iss", "aud"],
    },
    "sources": [orders_source()],
    "rate_limit": {"per_subject_per_second": 50, "burst": 100},
}


def section(**changes: Any) -> dict[str, Any]:
    """The issue's section with dotted-path `changes` applied (value `...` deletes the key)."""
    doc = copy.deepcopy(ISSUE_SECTION)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return doc


def config_error(doc: dict[str, Any], base: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        compile_ingest(doc, base)
    return caught.value


def test_issue_example_compiles_with_paths_relative_to_the_config_folder(config_dir: Path) -> None:
    """The issue's config loads: keys read and schema compiled from paths relative to `base_dir`."""
    compiled = compile_ingest(ISSUE_SECTION, config_dir)
    assert len(compiled.jwt.file_keys) == 2
    assert {"erp-ec", "erp-rsa"} <= {kid for key in compiled.jwt.file_keys for kid in key.kids}
    assert compiled.jwt.algorithms == {"ES256", "RS256"}
    source = compiled.sources[0]
    assert source.schema is not None and source.matcher is not None
    assert source.business_key is not None and source.business_key.text == "transaction_id"
    assert compiled.rate_limit is not None and compiled.rate_limit.capacity() == 100


def test_unknown_mapping_key_names_its_path(config_dir: Path) -> None:
    """A misspelt key in a data member is refused, its path ending in the unknown key."""
    doc = section(sources__0__mapping__data__region={"feild": "region", "default": "unknown"})
    assert str(config_error(doc, config_dir)) == "ingest.sources[0].mapping.data.region.feild: unknown key"


@pytest.mark.parametrize(
    ("dotted", "value", "path"),
    [
        ("sources__0__mapping__colour", "red", "ingest.sources[0].mapping.colour"),
        ("sources__0__mapping__event_time__format", "x", "ingest.sources[0].mapping.event_time.format"),
        ("sources__0__flavour", 1, "ingest.sources[0].flavour"),
        ("jwt__jwks", "x", "ingest.jwt.jwks"),
        ("rate_limit__per_second", 1, "ingest.rate_limit.per_second"),
    ],
)
def test_unknown_keys_anywhere_are_config_errors(
    config_dir: Path, dotted: str, value: Any, path: str
) -> None:
    """Every model of the section rejects keys it does not know, the path naming the key itself."""
    error = config_error(section(**{dotted: value}), config_dir)
    assert error.problems == [(path, "unknown key")]


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"field": "a", "const": 1}, "exactly one of field or const"),
        ({"default": 1}, "exactly one of field or const"),
        ({"const": 1, "default": 2}, "default only goes with field"),
        (42, "must be a field path"),
    ],
)
def test_malformed_data_members_are_config_errors(config_dir: Path, entry: Any, fragment: str) -> None:
    """A data member must be a path, {field[, default]} or {const}; anything else names the member."""
    error = config_error(section(sources__0__mapping__data__region=entry), config_dir)
    assert error.path == "ingest.sources[0].mapping.data.region"
    assert fragment in error.message


@pytest.mark.parametrize(
    ("algorithms", "fragment"),
    [
        (["ES256", "HS256"], 'HMAC algorithm "HS256" is not accepted'),
        (["none"], '"none" is not accepted'),
        (["ES256K"], 'unknown algorithm "ES256K"'),
        ([], "at least 1"),
    ],
)
def test_hmac_none_and_unknown_algorithms_are_refused(
    config_dir: Path, algorithms: list[str], fragment: str
) -> None:
    """The allow-list takes only asymmetric algorithms PyJWT knows; HS* and none fail at load."""
    error = config_error(section(jwt__algorithms=algorithms), config_dir)
    assert error.path == "ingest.jwt.algorithms"
    assert fragment in error.message


def test_default_algorithms_and_required_claims(config_dir: Path) -> None:
    """Unset: algorithms ES256, ES384, RS256; required claims exp, plus iss/aud when issuer/audience set."""
    doc = section(jwt__algorithms=..., jwt__required_claims=...)
    compiled = compile_ingest(doc, config_dir)
    assert compiled.jwt.algorithms == {"ES256", "ES384", "RS256"}
    assert compiled.jwt.claims.required == ("exp", "iss", "aud")
    bare = section(jwt__algorithms=..., jwt__required_claims=..., jwt__issuer=..., jwt__audience=...)
    assert compile_ingest(bare, config_dir).jwt.claims.required == ("exp",)


def test_explicit_required_claims_are_kept(config_dir: Path) -> None:
    """A configured `required_claims` list is used as given."""
    compiled = compile_ingest(section(jwt__required_claims=["exp", "sub", "jti"]), config_dir)
    assert compiled.jwt.claims.required == ("exp", "sub", "jti")


def test_a_key_source_is_required(config_dir: Path) -> None:
    """Without key files and without a JWKS URL no token could ever verify: a config error."""
    error = config_error(section(jwt__public_key_files=[]), config_dir)
    assert error.path == "ingest.jwt"
    assert "public_key_files or jwks_url" in error.message


def test_jwks_url_must_be_https_except_on_loopback(config_dir: Path) -> None:
    """Plain http is allowed for 127.0.0.1/localhost only."""
    error = config_error(section(jwt__jwks_url="http://keys.example.com/jwks.json"), config_dir)
    assert error.path == "ingest.jwt.jwks_url"
    compile_ingest(section(jwt__jwks_url="http://127.0.0.1:8080/jwks"), config_dir)
    compile_ingest(section(jwt__jwks_url="https://keys.example.com/jwks.json"), config_dir)


def test_missing_key_file_names_its_entry(config_dir: Path) -> None:
    """An unreadable key file is reported on its list entry."""
    error = config_error(section(jwt__public_key_files=["keys/erp-ec.pem", "keys/nope.pem"]), config_dir)
    assert error.path == "ingest.jwt.public_key_files[1]"
    assert "cannot read key file" in error.message


def test_every_file_problem_is_reported_at_once(config_dir: Path) -> None:
    """Each unreadable key file and each source's missing schema: one error listing all of them."""
    doc = section(jwt__public_key_files=["keys/nope.pem", "keys/erp-ec.pem", "keys/gone.pem"])
    doc["sources"].append({**orders_source("schemas/missing.json"), "name": "more"})
    error = config_error(doc, config_dir)
    assert [path for path, _ in error.problems] == [
        "ingest.jwt.public_key_files[0]",
        "ingest.jwt.public_key_files[2]",
        "ingest.sources[1].schema",
    ]
    assert "cannot read schema file" in error.problems[2][1]


def test_private_key_files_are_refused_without_echoing_them(config_dir: Path) -> None:
    """A private key configured by mistake is refused, and nothing of the key appears in the message."""
    issuer = LegacyIssuer("ES256")
    from cryptography.hazmat.primitives import serialization

    pem = issuer.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (config_dir / "keys" / "private.pem").write_bytes(pem)
    error = config_error(section(jwt__public_key_files=["keys/private.pem"]), config_dir)
    assert "private key" in error.message
    assert pem.decode().splitlines()[1][:20] not in str(error)


def test_garbage_key_file_is_refused(config_dir: Path) -> None:
    """A file that is no PEM public key or certificate is a config error."""
    (config_dir / "keys" / "junk.pem").write_text("hello")
    error = config_error(section(jwt__public_key_files=["keys/junk.pem"]), config_dir)
    assert error.message == "not a PEM public key or certificate"


def test_key_that_fits_no_allowed_algorithm_is_refused(config_dir: Path) -> None:
    """An RSA key with only EC algorithms allowed can never verify anything: a config error."""
    error = config_error(section(jwt__algorithms=["ES256"]), config_dir)
    assert error.path == "ingest.jwt.public_key_files[1]"
    assert "RSA 2048 key fits none of the algorithms ES256" in error.message


def test_key_files_may_name_their_kid(config_dir: Path) -> None:
    """`{path, kid}` entries give the key that kid instead of the file stem."""
    doc = section(jwt__public_key_files=[{"path": "keys/erp-ec.pem", "kid": "2024-05"}])
    (key,) = compile_ingest(doc, config_dir).jwt.file_keys
    assert "2024-05" in key.kids and "erp-ec" not in key.kids


def test_absolute_paths_are_used_as_given(config_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Absolute key and schema paths do not depend on `base_dir`."""
    other = tmp_path_factory.mktemp("elsewhere")
    doc = section(
        jwt__public_key_files=[str(config_dir / "keys" / "erp-ec.pem")],
        sources__0__schema=str(config_dir / "schemas" / "legacy-order.json"),
    )
    assert compile_ingest(doc, other).sources[0].schema is not None


def test_invalid_schema_file_names_the_source_schema_key(config_dir: Path) -> None:
    """A schema file that is not a valid JSON Schema fails at load on `sources[i].schema`."""
    (config_dir / "schemas" / "bad.json").write_text('{"type": 12}')
    error = config_error(section(sources__0__schema="schemas/bad.json"), config_dir)
    assert error.path == "ingest.sources[0].schema"


def test_invalid_match_pattern_names_the_source_match_key(config_dir: Path) -> None:
    """A match pattern the event-pattern engine rejects fails at load under `sources[i].match`."""
    error = config_error(section(sources__0__match={"event_type": "order_created"}), config_dir)
    assert error.path.startswith("ingest.sources[0].match")


def test_source_names_must_be_unique(config_dir: Path) -> None:
    """Two sources with one name are refused (the name is carried in event metadata)."""
    doc = section()
    doc["sources"].append(copy.deepcopy(doc["sources"][0]))
    error = config_error(doc, config_dir)
    assert error.path == "ingest.sources"
    assert "repeated: orders" in error.message


def test_sources_are_required(config_dir: Path) -> None:
    """A gateway without sources could accept nothing: at least one is required."""
    assert config_error(section(sources=[]), config_dir).path == "ingest.sources"


def test_match_and_schema_are_optional(config_dir: Path) -> None:
    """A source without match takes every payload; without schema it skips validation."""
    compiled = compile_ingest(section(sources__0__match=..., sources__0__schema=...), config_dir)
    assert compiled.sources[0].matcher is None and compiled.sources[0].schema is None


def test_model_accepts_a_single_issuer_or_a_list() -> None:
    """`issuer` and `audience` take one string or a list of them."""
    model = IngestConfig.model_validate(section(jwt__issuer=["a", "b"], jwt__audience="x"))
    assert model.jwt.issuer == ["a", "b"] and model.jwt.audience == ["x"]
