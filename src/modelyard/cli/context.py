"""The CLI's connection settings: URL, key (env, flag or ``<home>/admin.key``)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import click

from modelyard.cli.client import Client
from modelyard.config import client_defaults


@dataclass
class CliContext:
    """Where the CLI talks to and as whom."""

    url: str
    api_key: str | None
    home: Path
    ca_file: str | None = None

    def key(self) -> str | None:
        """The API key: flag/env first, else the admin key file in home."""
        if self.api_key:
            return self.api_key
        path = self.home / "admin.key"
        try:
            return path.read_text().strip() or None
        except OSError:
            return None

    def verify(self) -> ssl.SSLContext | bool:
        """How to verify the server's certificate (the CA bundle, else the system's)."""
        return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else True

    def client(self) -> Client:
        """A REST client for this context."""
        return Client(self.url, self.key(), verify=self.ca_file or True)


def default_context() -> CliContext:
    """Build the context from the environment."""
    url, key, home = client_defaults()
    return CliContext(url, key, home)


pass_ctx = click.make_pass_decorator(CliContext)
