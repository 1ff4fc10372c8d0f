"""The one base of every domain error: a message a person can read, a stable code, and the HTTP
status the API answers it with. Each app keeps its own errors, all subclasses of this, in its
`errors.py`; the API's error handler (core.api.errors) needs no list of apps."""


class DomainError(Exception):
    """A request the domain refuses, said plainly.

    `code` (e.g. insufficient_credits) and `http_status` (422 unless the class says otherwise)
    are class attributes; an instance may override either. An error about one input names it
    as `field` (e.g. "expires_at"): the API then answers a 400 validation error on that field,
    as if its serializer had refused it, whichever surface the rule is enforced behind.
    """

    code = "refused"
    http_status = 422

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        field: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status
