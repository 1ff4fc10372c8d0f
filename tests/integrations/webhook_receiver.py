"""A real HTTP receiver in the test process (127.0.0.1, a free port), allow-listed for
webhooks: it keeps every request it gets and answers with the status the test chose."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.services import webhooks
from tests.integrations.partners import approved_app, consenting_user


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 204
    location: str = ""


@pytest.fixture
def receiver(settings):
    found = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            found.requests.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(found.status)
            if found.location:
                self.send_header("Location", found.location)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    settings.INTEGRATIONS_WEBHOOK_ALLOWED_HOSTS = [f"127.0.0.1:{port}"]
    found.url = f"http://127.0.0.1:{port}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


def app_with_endpoint(url: str, types=("credits.spent",), name="Translator"):
    """An approved app with one endpoint at `url` for `types`: (app, endpoint, its secret)."""
    app = approved_app(name)
    new = webhooks.create(app=app, url=url, event_types=types)
    return app, new.endpoint, new.secret


def reader_of(app, **options):
    """A user who consented to `app` with credits:read."""
    user, _ = consenting_user(app, scopes="credits:read credits:spend", **options)
    return user
