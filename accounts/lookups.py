"""Finding another user by e-mail address (the transfer's receiver), limited per user.

Every signed-in user can ask whether an address belongs to someone; unlimited, that lists the
customer base. So each user may look up at most TRANSFER_RECEIVER_LOOKUPS_PER_HOUR different
addresses in any hour (on the shared cache, so every process counts together). Over the limit,
every new address is refused with one message, whether or not it belongs to anyone; an address
already looked up within the hour is answered again (that tells nothing new), so a transfer's
confirmation step still goes through.
"""

import hashlib
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache

from accounts.errors import ReceiverLookupsExhausted, ReceiverNotFound
from accounts.models import User

WINDOW_SECONDS = 3600
# The counter is read and rewritten under a short lock in the cache (as allauth's rate limits
# are), so concurrent look-ups by one user cannot each see room for one more.
LOCK_SECONDS = 5
LOCK_WAIT_SECONDS = 1.0


def find_receiver(*, sender: User, email: str) -> User:
    """The active user with this e-mail address, counted against the sender's look-ups.

    Raises ReceiverNotFound, or ReceiverLookupsExhausted (with retry_after) when the sender has
    looked up too many different addresses in the last hour. The sender's own address is not
    counted (the caller refuses a transfer to oneself).
    """
    address = User.objects.normalize_email(email)
    if address == sender.email:
        return sender
    _count_look_up(sender, address)
    receiver = User.objects.filter(email__iexact=address, is_active=True).first()
    if receiver is None:
        raise ReceiverNotFound("There is no CreditDesk user with this e-mail address.")
    return receiver


def _count_look_up(sender: User, address: str) -> None:
    limit = settings.TRANSFER_RECEIVER_LOOKUPS_PER_HOUR
    key = f"accounts:receiver-lookups:{sender.pk}"
    # Only a digest of each address is kept, never the address.
    digest = hashlib.sha256(address.encode()).hexdigest()[:32]
    now = time.time()
    with _locked(key) as locked:
        if not locked:  # another look-up of this user's held the counter too long
            raise _exhausted(limit, retry_after=LOCK_SECONDS)
        seen = {d: at for d, at in cache.get(key, {}).items() if at > now - WINDOW_SECONDS}
        if digest in seen or len(seen) < limit:
            seen.setdefault(digest, now)
            cache.set(key, seen, WINDOW_SECONDS)
            return
    raise _exhausted(limit, retry_after=math.ceil(min(seen.values()) + WINDOW_SECONDS - now))


def _exhausted(limit: int, *, retry_after: int) -> ReceiverLookupsExhausted:
    retry_after = max(1, retry_after)
    return ReceiverLookupsExhausted(
        f"Too many receivers looked up: at most {limit} different addresses an hour. "
        f"Try again in {_minutes(retry_after)}.",
        retry_after=retry_after,
    )


def _minutes(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


@contextmanager
def _locked(key: str) -> Iterator[bool]:
    """Hold `key`'s lock (cache.add is atomic on every shared backend); False if another
    request kept it past the wait, which counts as over the limit (the safe side)."""
    lock = f"{key}:lock"
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while not cache.add(lock, 1, LOCK_SECONDS):
        if time.monotonic() >= deadline:
            yield False
            return
        time.sleep(0.01)
    try:
        yield True
    finally:
        cache.delete(lock)
