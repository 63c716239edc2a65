"""Run the real ``modelyard`` CLI as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def run_cli(url: str, key: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``modelyard --url URL --api-key KEY ARGS...``."""
    argv = [sys.executable, "-m", "modelyard", "--url", url, "--api-key", key, *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{args} failed ({done.returncode}): {done.stderr}{done.stdout}")
    return done


def cli_json(url: str, key: str, *args: str) -> Any:
    """Run a CLI command with ``-o json`` and parse what it prints."""
    return json.loads(run_cli(url, key, *args, "-o", "json").stdout)
