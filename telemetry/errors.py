"""The one exception hierarchy of Roshanai.

Every package raises these (or subclasses); the CLI translates them into one clear line and a
non-zero exit code, the bridge into a quarantine reason or a retry. Library exceptions (pandas,
requests, paho, urllib3) are mapped to these at the boundary where they occur.

Service failures are typed by what happened on the wire, so that a caller can tell "try again
later" from "fix the setup" without reading messages::

    ServiceError                        exit 3
    ├── TransientServiceError           the same request may succeed later (retry_after_s)
    │   ├── ServiceUnreachable          no answer: refused, reset, unknown host, TLS, timeout
    │   ├── ServiceUnavailable          answered 429 or 5xx to a ping or a query
    │   └── WriteRetryable              answered 429 or 5xx to a write (also a WriteError)
    ├── WriteError                      a write did not go through
    │   ├── WriteRejected               4xx: bad points (400, 422) or a bad target (401, 403, 404)
    │   ├── PayloadTooLarge             413: split the batch
    │   └── WriteRetryable
    └── QueryError                      an InfluxQL statement failed or was refused
        ├── DatabaseNotFound            exit 2: a wrong --influx-db is bad input
        └── RetentionPolicyNotFound     exit 2: the rollups were never set up (or a wrong name)

:mod:`telemetry.retry` decides from these types alone what a writer does with a failed batch.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DatabaseNotFound",
    "FleetFileError",
    "InputError",
    "PayloadTooLarge",
    "QueryError",
    "RetentionPolicyNotFound",
    "RoshanaiError",
    "ServiceError",
    "ServiceUnavailable",
    "ServiceUnreachable",
    "TransientServiceError",
    "WeatherFileError",
    "WriteError",
    "WriteRejected",
    "WriteRetryable",
]


class RoshanaiError(Exception):
    """Base class: a problem Roshanai can explain to its user in one line."""

    exit_code: int = 1


class InputError(RoshanaiError):
    """Bad input from a user or a device (file, flag, payload)."""

    exit_code = 2


class FleetFileError(InputError):
    """The fleet file breaks its contract; the message names the row and column.

    Attributes
    ----------
    problems : list of str
        Every problem found (the message gives the first and their count).
    """

    problems: list[str] = []  # noqa: RUF012 - replaced per instance


class WeatherFileError(InputError):
    """The weather file is unreadable, has gaps, NaNs, or the wrong length."""


class ConfigError(InputError):
    """A setting (flag, environment variable or TOML file) is invalid."""


class ServiceError(RoshanaiError):
    """A server (MQTT broker, InfluxDB, Dask scheduler) is unreachable or refused us."""

    exit_code = 3


# -- transient: the same request may succeed later ------------------------------------------------


class TransientServiceError(ServiceError):
    """The service cannot serve the request now; the same request may succeed later.

    Attributes
    ----------
    retry_after_s : float or None
        How long the server asked us to wait (``Retry-After``) [s]; None if it did not say.
    """

    retry_after_s: float | None = None


class ServiceUnreachable(TransientServiceError):  # noqa: N818 - reads as what happened
    """No answer at all: connection refused or reset, unknown host, timeout (a TLS failure is
    a plain :class:`ServiceError`: it fails the same way every time).

    Raised alike by every request to the service (ping, query, write).

    Parameters
    ----------
    service : str
        What was asked, for the message (``InfluxDB``).
    url : str
        Where (credentials already removed).
    reason : str
        A short lower-case phrase (``connection refused``).
    """

    def __init__(self, service: str, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {service} at {url}: {reason}")
        self.service = service
        self.url = url
        self.reason = reason
        self.status: int | None = None


class ServiceUnavailable(TransientServiceError):  # noqa: N818
    """The server answered, but cannot serve now (HTTP 429 or 5xx) a request that is not a write.

    Attributes
    ----------
    status : int
        HTTP status.
    retry_after_s : float or None
        The server's ``Retry-After`` [s].
    """

    def __init__(self, message: str, *, status: int, retry_after_s: float | None = None) -> None:
        if retry_after_s is not None:
            message += f" (retry after {retry_after_s:g} s)"
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


# -- writes ---------------------------------------------------------------------------------------


class WriteError(ServiceError):
    """A write was answered with an error; see the subclasses for what to do with the batch.

    Attributes
    ----------
    reason : str
        The server's own message.
    status : int
        HTTP status.
    """

    def __init__(self, message: str, *, reason: str, status: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


class WriteRejected(WriteError):  # noqa: N818 - the names the callers use
    """4xx (except 413 and 429): retrying the same request will fail the same way.

    ``bad_points`` tells a malformed or conflicting point (400, 422: quarantine it) from a bad
    target (401/403 credentials, 404 database or bucket not found: fix the setup, keep the
    points).
    """

    def __init__(self, reason: str, *, status: int = 400, url: str = "") -> None:
        where = f" at {url}" if url else ""
        super().__init__(
            f"InfluxDB{where} rejected the write (HTTP {status}): {reason}",
            reason=reason,
            status=status,
        )

    @property
    def bad_points(self) -> bool:
        """True if the points are at fault (400, 422), False for a bad target."""
        return self.status in (400, 422)


class PayloadTooLarge(WriteError):  # noqa: N818
    """413: the body is over the server's limit; split the batch and send the halves."""

    def __init__(self, reason: str = "request entity too large", *, url: str = "") -> None:
        where = f" at {url}" if url else ""
        super().__init__(
            f"InfluxDB{where} refused a write body as too large (HTTP 413): {reason}",
            reason=reason,
            status=413,
        )


class WriteRetryable(WriteError, TransientServiceError):  # noqa: N818
    """429 or 5xx answered to a write: the same request may succeed later.

    Only a server's answer; a write that got no answer raises :class:`ServiceUnreachable`.
    Catch :class:`TransientServiceError` for both.

    Attributes
    ----------
    retry_after_s : float or None
        The server's ``Retry-After`` [s], if it sent one.
    """

    def __init__(
        self,
        reason: str,
        retry_after_s: float | None = None,
        *,
        status: int,
        url: str = "",
    ) -> None:
        where = f" at {url}" if url else ""
        message = f"InfluxDB{where} cannot take the write now (HTTP {status}): {reason}"
        if retry_after_s is not None:
            message += f" (retry after {retry_after_s:g} s)"
        super().__init__(message, reason=reason, status=status)
        self.retry_after_s = retry_after_s


# -- queries --------------------------------------------------------------------------------------


class QueryError(ServiceError):
    """An InfluxQL query failed: a statement error, or the server refused the request."""


class DatabaseNotFound(QueryError):  # noqa: N818 - reads as the server's answer
    """The database (or bucket) named does not exist: a wrong ``--influx-db``, bad input."""

    exit_code = 2


class RetentionPolicyNotFound(QueryError):  # noqa: N818 - reads as the server's answer
    """A query names a retention policy the database lacks (``rollup_1d``, ``rollup_1h``): the
    rollups were not set up (``roshanai dashboards rollups``) on this database; a setup to
    make, not a service failure."""

    exit_code = 2
