"""`NAME_FILE=/run/secrets/x` sets the setting NAME from that file, as container secrets are
mounted (Docker, Kubernetes, ECS with a volume): every setting of a service that has no
field of its own called `<name>_file` accepts it.

The file's content is the value, its trailing newlines dropped (as `$(cat file)` does).
Setting both NAME and NAME_FILE is refused, as is a file that cannot be read: the service
does not start (fail closed); the error names the variables, never a value.

The vault keeps a copy of this module (vault/secret_files.py: it imports nothing of this
repository); tests/strongroom/test_secret_files.py holds both to the same behaviour.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsError


class SecretFileError(SettingsError):
    """A NAME_FILE that cannot be used; the message names variables and paths only."""


class SecretFiles(PydanticBaseSettingsSource):
    """A settings source reading NAME_FILE variables (after the variables themselves)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: dict[str, str] | None = None):
        super().__init__(settings_cls)
        self.environ = dict(os.environ if environ is None else environ)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ reads every field at once

    def __call__(self) -> dict[str, Any]:
        prefix = str(self.settings_cls.model_config.get("env_prefix", "")).upper()
        fields = self.settings_cls.model_fields
        upper = {key.upper(): value for key, value in self.environ.items()}
        values: dict[str, Any] = {}
        for name in fields:
            if name.endswith("_file") or f"{name}_file" in fields:
                continue  # a setting that names a file already (tls_cert_file)
            variable = f"{prefix}{name}".upper()
            path = upper.get(f"{variable}_FILE")
            if path is None:
                continue
            if variable in upper:
                raise SecretFileError(f"both {variable} and {variable}_FILE are set; set one")
            try:
                values[name] = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except (OSError, UnicodeDecodeError) as exc:
                raise SecretFileError(
                    f"{variable}_FILE: cannot read {path}: {type(exc).__name__}"
                ) from None
        return values


class FileSettings(BaseSettings):
    """BaseSettings that also reads NAME_FILE: keyword arguments, then NAME, then NAME_FILE."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            SecretFiles(settings_cls),
            dotenv_settings,
            file_secret_settings,
        )
