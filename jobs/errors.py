"""The jobs app's typed errors: a message the client or staff member can read, and a code."""

from core.errors import DomainError


class JobError(DomainError):
    """A job step that cannot happen now (422 on the API)."""

    code = "job_refused"


class JobNotFound(JobError):
    """Not a job the caller may see: the API answers 404, as for a job that does not exist."""

    code = "not_found"
    http_status = 404


class NotAllowed(JobError):
    """The caller may see the job but not take this step (a client delivering, say)."""

    code = "not_allowed"
    http_status = 403


class WrongStatus(JobError):
    """The job or milestone is not in a state that allows the step (accepting twice, say)."""

    code = "wrong_status"
    http_status = 409


class FileRefused(JobError):
    """An upload refused: too large, of a type not allowed, or not what its name says."""

    code = "file_refused"
    http_status = 400
