"""Who the caller is (docs/security.md): how the user id is taken from a call."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from server_kit import headers


class IdentitySettings(BaseModel):
    @model_validator(mode="after")
    def _check_identity(self) -> IdentitySettings:
        if self.identity == "jwt" and bool(self.jwks_file) == bool(self.jwks_uri):
            raise ValueError(
                "identity 'jwt' needs the identity provider's keys: set exactly one of "
                "jwks_file and jwks_uri (or identity 'header' for a service only tests reach)"
            )
        if self.jwks_uri and not self.jwks_uri.startswith("https://"):
            raise ValueError("jwks_uri must be an https URL")
        return self

    # identity (docs/security.md)
    identity: Literal["jwt", "header"] = Field(
        "jwt",
        description="jwt: the user is the `sub` of the bearer token the gateway forwards, "
        "verified here against jwks_file or jwks_uri. header: the user_header metadata is "
        "believed from any caller (tests, tools talking to one service; never a deployment)",
    )
    jwks_file: str = Field("", description="jwt: the identity provider's JWKS, a local file")
    jwks_uri: str = Field("", description="jwt: the identity provider's JWKS URL (https)")
    jwt_issuer: str = Field("chatstack-local", description="jwt: the `iss` tokens must carry")
    jwt_audiences: str = Field("chatstack", description="jwt: accepted `aud`, comma-separated")
    jwt_max_lifetime_s: float = Field(
        86_400.0, gt=0, description="jwt: the longest token lifetime accepted (exp - iat)"
    )
    api_key_cache_s: float = Field(
        5.0,
        ge=0,
        description="how long a checked API key is remembered per replica: a revoked key "
        "stops working everywhere within this time (0: every call reads the store)",
    )
    max_api_keys_per_user: int = Field(50, ge=1, description="API keys a user may hold")
    user_header: str = Field(
        headers.USER_ID,
        description="header mode: metadata key holding the user id (the gateway sets it from "
        "the verified JWT and strips any client-sent copy)",
    )
