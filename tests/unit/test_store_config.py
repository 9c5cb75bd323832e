"""`store.url` names the backend by its scheme; anything else is a config error naming the key."""

from __future__ import annotations

import pytest

from ccbridge.config.model import StoreConfig


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("sqlite:///./ccbridge.db", "sqlite"),
        ("postgresql://ccbridge@db.internal:5432/bridge", "postgres"),
        ("postgres://u@127.0.0.1/test?sslmode=disable", "postgres"),
    ],
)
def test_both_backends_schemes_are_accepted(url: str, kind: str) -> None:
    assert StoreConfig(url=url).kind == kind


@pytest.mark.parametrize("url", ["mysql://db/x", "postgresql://", "sqlite://relative.db", "/var/lib/x.db"])
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="postgresql://"):
        StoreConfig(url=url)


def test_a_schema_name_must_be_a_plain_identifier() -> None:
    assert StoreConfig(url="postgresql://u@h/db", postgres_schema="ccb_prod").postgres_schema == "ccb_prod"
    with pytest.raises(ValueError, match="postgres_schema"):
        StoreConfig(url="postgresql://u@h/db", postgres_schema="x; DROP TABLE y")
