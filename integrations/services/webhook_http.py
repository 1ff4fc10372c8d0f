"""The one outside call of webhooks: POST a signed body to a partner's endpoint, safely.

A partner chooses the URL, so it must not reach inside our network (SSRF). On every attempt the
host is resolved here and refused if any of its addresses is loopback, private, link-local,
site-local, multicast, reserved, unspecified, shared (100.64.0.0/10), otherwise not global, or
a cloud metadata address (an IPv6 address carrying an IPv4 one, mapped or 6to4, is judged by
that one, as is NAT64's); the connection then goes to the address that was checked (never a second
resolution, which DNS rebinding could answer differently), with the name in the Host header
and TLS's SNI. HTTPS only; redirects are never followed (http.client does not).
INTEGRATIONS_WEBHOOK_ALLOWED_HOSTS names the exact hosts that may be plain http and private
(the tests' local receiver, the development demo receiver).
"""

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

# The whole attempt's, however the endpoint paces its answer (a socket's own timeout is per
# read): cut then, so a worker is never held longer, and well inside the delivery's claim
# (webhook_deliveries.CLAIM), so no second attempt starts while this one still waits.
TIMEOUT_SECONDS = 15
EXCERPT_BYTES = 1024
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud's, in the shared space below
    }
)
# NAT64's well-known prefix (RFC 6052): on a network with a NAT64 gateway 64:ff9b::a9fe:a9fe
# reaches 169.254.169.254, yet Python calls it global.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# 100.64.0.0/10 (RFC 6598): neither private nor global to Python, yet inside many networks
# (carrier-grade NAT, Tailscale, some clouds' VPCs).
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")


class Refused(Exception):
    """The URL may not be called; the message says why (shown in the delivery log)."""


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str
    latency_ms: int
    excerpt: str


def allow_listed(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    allowed = settings.INTEGRATIONS_WEBHOOK_ALLOWED_HOSTS
    netloc = f"{host}:{parts.port}" if parts.port else host
    return bool(host) and (host in allowed or netloc in allowed)


def check_url(url: str) -> None:
    """Refuse a URL that is not https (unless allow-listed) or names no host: what registering
    an endpoint checks before anything is resolved."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise Refused("The URL names no host.")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and allow_listed(url):
        return
    raise Refused("Webhook URLs must use https://.")


def _refused_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    # An IPv6 address that carries an IPv4 one (mapped, 6to4, NAT64) is judged by that one.
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped or address.sixtofour:
            address = address.ipv4_mapped or address.sixtofour
        elif address in NAT64:
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address in SHARED_ADDRESS_SPACE:
        return "a shared (carrier-grade NAT) address"
    # Private last: it also covers most of the others, whose names say more.
    kinds = ("unspecified", "loopback", "link_local", "site_local", "multicast", "reserved")
    for kind in (*kinds, "private"):
        if getattr(address, f"is_{kind}", False):
            return f"a {kind.replace('_', '-')} address"
    # What none of the names covers but the internet cannot route either (192.0.0.0/24, …).
    if not address.is_global:
        return "a non-public address"
    return None


def resolve(url: str) -> str:
    """The address to connect to: the host's first, once every one of them passed."""
    check_url(url)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise Refused(f"The host {parts.hostname} does not resolve ({error}).") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise Refused(f"The host {parts.hostname} does not resolve.")
    if not allow_listed(url):
        for address in addresses:
            if (why := _refused_address(address)) is not None:
                raise Refused(f"Refused: {parts.hostname} resolves to {address}, {why}.")
    return str(addresses[0])


class _Cuttable:
    """A connection the deadline can end (`_cut`), whatever step it is at. The socket is kept
    apart (`cut_by`): http.client forgets its own while the answer is read."""

    expired = False  # set by the deadline
    cut_by = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The deadline's thread and the caller's close take turns: a shutdown landing after
        # close() could hit whatever socket reused the number (a database connection).
        self.cut_lock = threading.Lock()

    def _keep(self, sock):
        with self.cut_lock:
            self.cut_by = sock
            if self.expired:  # the deadline passed while connecting: nothing to cut then; now
                _shutdown(sock)
        return sock

    def close_for_good(self) -> None:
        with self.cut_lock:
            self.cut_by = None
            self.close()


class _PinnedHTTPConnection(_Cuttable, http.client.HTTPConnection):
    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = self._keep(socket.create_connection((self._address, self.port), self.timeout))


class _PinnedHTTPSConnection(_Cuttable, http.client.HTTPSConnection):
    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # Kept before the handshake, so that a deadline passing during it ends it too.
        sock = self._context.wrap_socket(
            sock, server_hostname=self.host, do_handshake_on_connect=False
        )
        self._keep(sock).do_handshake()
        self.sock = sock


def _shutdown(sock) -> None:
    # socket's own shutdown, not SSLSocket's: that one also drops the TLS state under the
    # thread reading it.
    with contextlib.suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _cut(connection: _Cuttable) -> None:
    """End a connection still open at the deadline: the thread using it gets an error."""
    with connection.cut_lock:
        connection.expired = True
        if connection.cut_by is not None:
            _shutdown(connection.cut_by)


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url`; a refusal or a network error is an Answer with `error`."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    # The name's lookup is outside the deadline (getaddrinfo cannot be cut): the resolver's own
    # limits bound it (resolv.conf: 5 s a try, 2 tries, up to 3 servers: 30 s), and with the
    # deadline's 15 s that stays inside the delivery's 60 s claim.
    try:
        address = resolve(url)
    except Refused as refusal:
        return Answer(None, str(refusal), elapsed(), "")
    parts = urlsplit(url)
    kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = kind(parts.hostname, parts.port, address=address, timeout=TIMEOUT_SECONDS)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    deadline = threading.Timer(TIMEOUT_SECONDS, _cut, args=(connection,))
    deadline.daemon = True
    deadline.start()
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES).decode("utf-8", errors="replace")
    except (OSError, http.client.HTTPException) as error:
        message = f"{type(error).__name__}: {error}"[:500]
        if connection.expired:
            message = f"No answer within {TIMEOUT_SECONDS} seconds ({message})"[:500]
        return Answer(None, message, elapsed(), "")
    finally:
        deadline.cancel()
        connection.close_for_good()
    # The deadline's own word, not elapsed(): that also counts the name's lookup.
    if connection.expired:  # its status came in time, the rest did not
        return Answer(None, f"No whole answer within {TIMEOUT_SECONDS} seconds", elapsed(), excerpt)
    return Answer(response.status, "", elapsed(), excerpt)
