"""Answers on the hot paths serialized with their fields built once.

DRF builds a serializer's fields anew for every instance (deep copies of the declared fields,
and a model serializer's look at its model): for a small answer that is most of what it costs,
0.5 ms of a spend's 3 ms in a profile. `represent` keeps one serializer per class and asks it
for each object's representation. That is safe for serializers whose fields read only the
object (no context, no request), as the ledger's answers do: one instance then serves every
request and thread.
"""

import functools
from collections.abc import Callable


def represent(serializer_class) -> Callable[[object], dict]:
    """`serializer_class`'s representation of an object, as `serializer_class(obj).data`."""

    @functools.cache
    def serializer():
        made = serializer_class()
        made.fields  # noqa: B018 (built whole before any thread sees it; DRF fills it lazily)
        return made

    return lambda obj: serializer().to_representation(obj)
