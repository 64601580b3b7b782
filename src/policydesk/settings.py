"""One typed settings object, read once from ``POLICYDESK_*`` environment variables."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["LOCAL_SECRET", "Settings", "get_settings"]

#: The secret ``make run`` uses on a developer's machine; refused outside local mode.
LOCAL_SECRET = "local-development-secret-do-not-use-in-production"


class Settings(BaseSettings):
    """Everything the service reads from its environment.

    ``POLICYDESK_MODE=production`` refuses to start with the local secret.
    """

    model_config = SettingsConfigDict(env_prefix="POLICYDESK_", frozen=True)

    mode: Literal["local", "production"] = "local"
    database_url: str = "sqlite:///policydesk.db"
    policy: Path = Path("policies/rarelogic.yaml")
    secret_key: SecretStr = SecretStr(LOCAL_SECRET)
    host: str = "127.0.0.1"
    port: int = 8000
    #: Server processes; more than one needs the app built from settings in each process.
    workers: int = Field(1, ge=1, le=64)
    #: One log line per request from the server (uvicorn's access log).
    access_log: bool = True
    session_days: int = 14

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> Settings:
        if self.mode == "production" and self.secret_key.get_secret_value() == LOCAL_SECRET:
            raise ValueError(
                "POLICYDESK_SECRET_KEY must be set to a secret of your own in production mode"
            )
        return self


@cache
def get_settings() -> Settings:
    return Settings()
