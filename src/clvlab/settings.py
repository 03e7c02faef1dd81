"""One settings object for the library, the CLI and the server: locations, time zone, secrets.

Every value comes from an environment variable ``CLVLAB_<NAME>`` (or, when ``CLVLAB_CONFIG``
names a TOML file, from its top-level keys; the environment wins).  Nothing else in clvlab reads
the environment.

==================  ===========================  ==============================================
variable            default                      meaning
==================  ===========================  ==============================================
CLVLAB_WORKSPACE    ``clvlab.duckdb``            the analytics workspace (file or postgres URL)
CLVLAB_APP_STORE    see :meth:`Settings.app_store_url`  the application store (cases, owners, ...)
CLVLAB_TIMEZONE     ``UTC``                      business time zone of naive times in the data
CLVLAB_PUBLIC_URL   none                         address customers reach (re-survey links)
CLVLAB_LINK_SECRET  none                         HMAC key of signed links (secret)
CLVLAB_SMTP         none                         ``HOST:PORT`` of the mail server
CLVLAB_SMTP_FROM    ``clvlab@localhost``         sender of e-mail notifications
CLVLAB_SMTP_USER    none                         SMTP login
CLVLAB_SMTP_PASSWORD none                        SMTP password (secret)
CLVLAB_SECRET_KEY   none                         server key of CSRF tokens (secret; ``clvlab serve``
                                                 refuses to start without one unless ``--dev``)
CLVLAB_SESSION_HOURS ``12``                      how long a login session of the server lasts
CLVLAB_LOGIN_MAX_FAILURES ``5``                  failed logins (per name, per 15 minutes) before 429
CLVLAB_DEV          ``false``                    development server (``clvlab serve --dev``): a fixed
                                                 insecure secret key is allowed
CLVLAB_SURVEY_CONTACT_DAYS ``30``               nobody gets a survey invitation twice within these days
CLVLAB_SURVEY_LINK_DAYS ``14``                   how long a survey link stays valid
CLVLAB_SURVEY_RATE_TOKEN ``10``                  submissions per link per hour (then 429)
CLVLAB_SURVEY_RATE_IP ``60``                     survey submissions per client address per minute
==================  ===========================  ==============================================

Secrets are :class:`pydantic.SecretStr` (shown as ``**********``), and passwords inside URLs are
redacted by :func:`redact` (:mod:`clvlab._redact`, cheap to import) wherever a URL reaches a
message or a repr.

>>> from clvlab.settings import redact
>>> redact("postgres://bob:s3cret@db.example.com/shop")
'postgres://bob:***@db.example.com/shop'
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from clvlab._redact import redact
from clvlab.errors import ParameterError

ENV_PREFIX = "CLVLAB_"
CONFIG_VAR = "CLVLAB_CONFIG"
#: file name suffix of the SQLite application store derived from a workspace file
APP_STORE_SUFFIX = "-app.sqlite"

class Settings(BaseSettings):
    """clvlab's settings, read from ``CLVLAB_*`` environment variables (see the module docstring)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True, env_ignore_empty=True)

    workspace: str = "clvlab.duckdb"
    app_store: str | None = None
    timezone: str = "UTC"
    public_url: str | None = None
    link_secret: SecretStr | None = None
    smtp: str | None = None
    smtp_from: str = "clvlab@localhost"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    secret_key: SecretStr | None = None
    session_hours: float = Field(12.0, gt=0)
    login_max_failures: int = Field(5, ge=1)
    dev: bool = False
    survey_contact_days: float = Field(30.0, ge=0)
    survey_link_days: float = Field(14.0, gt=0)
    survey_rate_token: int = Field(10, ge=1)
    survey_rate_ip: int = Field(60, ge=1)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then ``CLVLAB_*`` variables, then the TOML file named by ``CLVLAB_CONFIG``."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get(CONFIG_VAR)
        if config:
            if not Path(config).is_file():
                msg = f"{CONFIG_VAR} names '{config}', which is not a file; point it at a TOML settings file"
                raise ParameterError(msg)
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            msg = "must be an IANA time zone name such as 'UTC' or 'Asia/Shanghai'"
            raise ValueError(msg) from None
        return value

    @field_validator("public_url")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.match(r"^https?://[^/\s]+", value.strip()):
            msg = "must be the address customers reach, with scheme and host (e.g. https://survey.example.com)"
            raise ValueError(msg)
        return value.strip().rstrip("/")

    @field_validator("smtp")
    @classmethod
    def _smtp(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        host, _, port = value.strip().rpartition(":")
        if not host or not port.isdigit():
            msg = "must be HOST:PORT (e.g. mail.example.com:25)"
            raise ValueError(msg)
        return value.strip()

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, redact(value) if name in {"workspace", "app_store"} and value is not None else value

    def app_store_url(self, workspace: str | os.PathLike[str] | None = None) -> str:
        """Where the application store is: the one rule every command and the library follow.

        ``CLVLAB_APP_STORE`` when set; else a SQLite file ``<stem>-app.sqlite`` beside the
        workspace file (``workspace`` when the library passes one, else ``CLVLAB_WORKSPACE``,
        else ``./clvlab.duckdb``, giving ``./clvlab-app.sqlite``); a workspace that is not a file
        (``:memory:``, a PostgreSQL URL) gives ``./clvlab-app.sqlite``.  The CLI never passes its
        ``--workspace``: every command finds the same store.
        """
        if self.app_store:
            return self.app_store
        base = os.fspath(workspace) if workspace is not None else self.workspace
        if base == ":memory:" or "://" in base:
            base = "clvlab.duckdb"
        path = Path(base).expanduser()
        return f"sqlite:///{path.with_name(path.stem + APP_STORE_SUFFIX)}"

    def survey_link_base(self) -> str | None:
        """Prefix of public survey links (``<public_url>/s/``), None when no public URL is set."""
        return None if self.public_url is None else f"{self.public_url}/s/"


def get_settings(**overrides: Any) -> Settings:
    """The current settings (environment read now), ``overrides`` winning; a bad value is a
    :class:`~clvlab.errors.ParameterError` naming the variable (never its secret value)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        secret = name in {"link_secret", "smtp_password", "secret_key"}
        shown = "" if secret else f" Got {redact(first.get('input'))!r} instead."
        msg = f"setting {ENV_PREFIX}{name.upper()} {first['msg'].removeprefix('Value error, ')}.{shown}"
        raise ParameterError(msg) from None
