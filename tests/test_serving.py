"""Production serving as the README gives it: collectstatic, then gunicorn with whitenoise."""

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.processes import PROJECT_DIR, environment, manage

GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (our own server)
        return response.status, response.read().decode()


def wait_until_up(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited: {server.stderr.read()}")
        try:
            get(url)
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail("gunicorn did not answer within 30 seconds")


@pytest.mark.enable_socket
@pytest.mark.skipif(shutil.which(str(GUNICORN)) is None, reason="gunicorn is not installed")
def test_gunicorn_serves_pages_and_hashed_static_files(tmp_path):
    production = {
        "DEBUG": "false",
        "SECRET_KEY": "serving-tests-only-" * 3,
        "SITE_URL": "http://127.0.0.1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    collected = manage("collectstatic", "--noinput", **production)
    assert collected.returncode == 0, collected.stderr
    port = free_port()
    server = subprocess.Popen(
        [str(GUNICORN), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=PROJECT_DIR,
        env=environment(**production),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/healthz", server)

        status, html = get(f"{base}/")
        stylesheet = re.search(r'href="(/static/css/creditdesk\.[0-9a-f]{12}\.css)"', html)

        assert status == 200
        assert stylesheet, "the page does not link the hashed stylesheet"
        status, css = get(base + stylesheet.group(1))
        assert status == 200
        assert ":focus-visible" in css
    finally:
        server.terminate()
        server.wait(timeout=10)
