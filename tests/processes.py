"""Running CreditDesk in a separate process, with an environment the test chooses."""

import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
# OIDC_RSA_PRIVATE_KEY: the test session's signing key (tests/signing_key.py), so a process
# with DEBUG off starts, and one with DEBUG on writes no development key into the project.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "OIDC_RSA_PRIVATE_KEY")


def environment(**variables: str) -> dict[str, str]:
    """Only what the test names, plus what any process needs: no inherited settings."""
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env["ENV_FILE"] = "/dev/null"
    env.update(variables)
    return env


def run(args: list[str], timeout: int = 120, **variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        args,
        cwd=PROJECT_DIR,
        env=environment(**variables),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def manage(*args: str, **variables: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "manage.py", *args], **variables)


def python(code: str, **variables: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "-c", code], **variables)
