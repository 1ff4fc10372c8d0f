"""A slow endpoint: an answer dripped a byte at a time, each under the socket timeout, must not
hold a worker past the attempt's deadline, which is shorter than the claim (else the sweep
claims the delivery again and sends it a second time while the first POST still waits)."""

import socket
import threading
import time

import pytest

from integrations.services import webhook_deliveries, webhook_http

pytestmark = [pytest.mark.enable_socket]


HEAD_DRIPPED = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 50
# Its status and headers at once, then its body a byte at a time: a 2xx, but not in time.
BODY_DRIPPED = b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"


@pytest.fixture(params=[HEAD_DRIPPED, BODY_DRIPPED], ids=["head", "body"])
def dripping(settings, request):
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
