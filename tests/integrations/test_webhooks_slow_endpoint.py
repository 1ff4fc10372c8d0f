"""A slow endpoint: an answer dripped a byte at a time, each under the socket timeout, must not
hold a worker past the attempt's deadline, which is shorter than the claim (else the sweep
claims the delivery again and sends it a second time while the first POST still waits)."""

import socket
import threading
import time

import pytest

from integrations.services import webhook_deliveries, webhook_http

pytestmark = [pytest.mark.enable_socket]


@pytest.fixture
def dripping(settings):
    """A receiver that reads the request, then answers one byte every 0.2 s for 10 s."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    settings.INTEGRATIONS_WEBHOOK_ALLOWED_HOSTS = [f"127.0.0.1:{port}"]
    stop = threading.Event()

    def serve():
        conn, _ = server.accept()
        conn.recv(65536)
        answer = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 50
        for byte in answer:
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
    longest = webhook_http.DEADLINE_SECONDS + webhook_http.TIMEOUT_SECONDS  # and a slow close
    assert longest < webhook_deliveries.CLAIM.total_seconds()


def test_a_dripping_answer_is_cut_at_the_deadline(dripping, monkeypatch):
    monkeypatch.setattr(webhook_http, "TIMEOUT_SECONDS", 1)
    monkeypatch.setattr(webhook_http, "DEADLINE_SECONDS", 1.5, raising=False)
    started = time.monotonic()

    answer = webhook_http.post(dripping, body=b"{}", headers={})

    assert time.monotonic() - started < 4
    assert answer.status_code is None
    assert answer.error
