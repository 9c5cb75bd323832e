"""The OAuth2 token endpoint's request, answer and errors (RFC 6749, not problem+json)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class TokenRequest(BaseModel):
    """OAuth2 client credentials in the form body, or client_id/secret as HTTP Basic instead."""

    grant_type: Literal["client_credentials"]
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = Field(None, description="space-separated; the client's scopes when absent")


class Token(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


class OAuthError(BaseModel):
    """RFC 6749 §5.2: the token endpoint's errors, not problem+json, because OAuth2 clients parse these."""

    error: str
    error_description: str
