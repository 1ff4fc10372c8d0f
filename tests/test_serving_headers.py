"""The headers production serving sends (gunicorn with whitenoise, as the README runs it):
static files are cached for a year, nothing Django answers is cached at all, and the Server
header does not say which gunicorn version answers."""

import re
import socket
import subprocess
import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.processes import PROJECT_DIR, environment, manage
from tests.test_serving import GUNICORN, free_port, wait_until_up

pytestmark = [
    pytest.mark.enable_socket,
    pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The address of a production gunicorn (DEBUG off, collected static files)."""
    folder = tmp_path_factory.mktemp("serving")
    production = {
        "DEBUG": "false",
        "SECRET_KEY": "serving-tests-only-" * 3,
        "SITE_URL": "http://127.0.0.1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{folder}/db.sqlite3",
        "STATIC_ROOT": str(folder / "static"),
        # The database is never migrated here: no cache table (one process, so its memory).
        "CACHE_URL": "locmemcache://",
    }
    collected = manage("collectstatic", "--noinput", **production)
    assert collected.returncode == 0, collected.stderr
    port = free_port()
    process = subprocess.Popen(
        [str(GUNICORN), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=PROJECT_DIR,
        env=environment(**production),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def fetch(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (our own server)
        return response.headers, response.read().decode()


def test_static_files_are_cached_for_a_year_and_pages_are_never_stored(server):
    page_headers, html = fetch(f"{server}/")
    stylesheet = re.search(r'href="(/static/css/creditdesk\.[0-9a-f]{12}\.css)"', html).group(1)
    static_headers, _ = fetch(server + stylesheet)
    api_headers, _ = fetch(f"{server}/api/v1/")

    assert "no-store" in page_headers["Cache-Control"]
    assert "no-store" in api_headers["Cache-Control"]
    assert static_headers["Cache-Control"] == "max-age=315360000, public, immutable"


def raw_response(base: str, request: bytes) -> str:
    """What the server answers to bytes urllib would refuse to send (a malformed request)."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=5) as connection:
        connection.sendall(request)
        return connection.recv(65536).decode("latin-1")


def test_the_server_header_names_no_version(server):
    # gunicorn 27 sends "Server: gunicorn" (its version is only in the WSGI environ's
    # SERVER_SOFTWARE, which no response repeats); this keeps it so, whatever gunicorn does next.
    _, html = fetch(f"{server}/")
    stylesheet = re.search(r'href="(/static/css/creditdesk\.[0-9a-f]{12}\.css)"', html).group(1)
    banners = [fetch(server + path)[0].get_all("Server") for path in ("/", "/api/v1/", stylesheet)]
    malformed = raw_response(server, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon\r\n\r\n")

    assert banners == [["gunicorn"]] * 3
    assert malformed.startswith("HTTP/1.1 400")
    assert not re.search(r"(?im)^server:.*\d", malformed)
    assert "27." not in malformed
