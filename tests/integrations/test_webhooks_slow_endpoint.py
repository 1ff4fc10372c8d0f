"""A slow endpoint: an answer dripped a byte at a time, each under the socket timeout, must not
hold a worker past the attempt's deadline, which is shorter than the claim (else the sweep
claims the delivery again and sends it a second time while the first POST still waits)."""

import socket
import ssl
import subprocess
import threading
import time

import pytest

from integrations.services import webhook_deliveries, webhook_http

pytestmark = [pytest.mark.enable_socket]


def allowed_listener(settings) -> tuple[socket.socket, int]:
    """A listening socket on a loopback port that webhooks may reach (allow-listed)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    settings.INTEGRATIONS_WEBHOOK_ALLOWED_HOSTS = [f"127.0.0.1:{port}"]
    return server, port


HEAD_DRIPPED = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 50
# Its status and headers at once, then its body a byte at a time: a 2xx, but not in time.
BODY_DRIPPED = b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"


@pytest.fixture(params=[HEAD_DRIPPED, BODY_DRIPPED], ids=["head", "body"])
def dripping(settings, request):
    """A receiver that reads the request, then answers one byte every 0.2 s for 10 s."""
    server, port = allowed_listener(settings)
    stop = threading.Event()

    def serve():
        conn, _ = server.accept()
        conn.recv(65536)
        if request.param is BODY_DRIPPED:
            conn.sendall(BODY_DRIPPED)
        for byte in HEAD_DRIPPED if request.param is HEAD_DRIPPED else b"a" * 50:
            if stop.is_set():
                break
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/hooks"
    stop.set()
    server.close()


def test_the_attempts_deadline_is_shorter_than_the_claim():
    longest = 2 * webhook_http.TIMEOUT_SECONDS  # the attempt, and a slow close after it
    assert longest < webhook_deliveries.CLAIM.total_seconds()


def test_a_dripping_answer_is_cut_at_the_deadline(dripping, monkeypatch):
    monkeypatch.setattr(webhook_http, "TIMEOUT_SECONDS", 1)
    started = time.monotonic()

    answer = webhook_http.post(dripping, body=b"{}", headers={})

    assert time.monotonic() - started < 3
    assert answer.status_code is None
    assert answer.error


@pytest.fixture
def tls_dripping(settings, tmp_path, monkeypatch):
    """An https receiver whose TLS handshake ends late (it waits 0.7 s before its hello), then
    answers 200 with its body a byte every 0.2 s for 10 s; the client trusts its certificate."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(webhook_http.ssl, "create_default_context", lambda: client_context)
    server, port = allowed_listener(settings)

    def serve():
        raw, _ = server.accept()
        time.sleep(0.7)
        try:
            conn = server_context.wrap_socket(raw, server_side=True)
            conn.recv(65536)
            conn.sendall(BODY_DRIPPED)
            for _ in range(50):
                conn.sendall(b"a")
                time.sleep(0.2)
        except OSError:
            pass
        raw.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"https://127.0.0.1:{port}/hooks"
    server.close()


def test_an_https_answer_is_cut_even_when_the_handshake_ends_after_the_deadline(
    tls_dripping, monkeypatch
):
    # A slow network: the TCP connect takes 0.5 s, the handshake ends past the 1 s deadline.
    connect = socket.create_connection

    def slow_connect(*args, **kwargs):
        time.sleep(0.5)
        return connect(*args, **kwargs)

    monkeypatch.setattr(webhook_http.socket, "create_connection", slow_connect)
    monkeypatch.setattr(webhook_http, "TIMEOUT_SECONDS", 1)
    started = time.monotonic()

    answer = webhook_http.post(tls_dripping, body=b"{}", headers={})

    assert time.monotonic() - started < 3
    assert answer.status_code is None
    assert "within 1 seconds" in answer.error


def test_a_slow_name_lookup_does_not_make_a_prompt_answer_a_failure(settings, monkeypatch):
    # The deadline is the request's (its timer starts once the name is resolved): a 2xx that came
    # at once after a slow lookup is delivered, not reported late and sent again.
    server, port = allowed_listener(settings)

    def serve():
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    resolve = webhook_http.resolve

    def slow_resolve(url):
        time.sleep(1.2)
        return resolve(url)

    monkeypatch.setattr(webhook_http, "resolve", slow_resolve)
    monkeypatch.setattr(webhook_http, "TIMEOUT_SECONDS", 1)

    answer = webhook_http.post(f"http://127.0.0.1:{port}/hooks", body=b"{}", headers={})
    server.close()

    assert (answer.status_code, answer.error) == (204, "")
