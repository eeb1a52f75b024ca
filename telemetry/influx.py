"""The InfluxDB store: write line protocol, read with InfluxQL, errors classified once.

Two write paths, chosen by ``api``:

- ``v1``: HTTP ``POST /write?db=...&precision=ns`` through urllib3, for InfluxDB 1.x before 1.8
  (no ``/api/v2/write``) and anything else speaking the 1.x protocol;
- ``v2``: the influxdb-client write API (bucket = ``database``, ``org``), for InfluxDB 1.8+
  (its 2.x compatibility endpoint; the token is then ``username:password``), 2.x, 3.x and
  other servers that take line protocol on ``/api/v2/write`` (VictoriaMetrics).

``auto`` asks ``/ping`` for the ``X-Influxdb-Version`` header: a 1.x before 1.8 gets ``v1``, a
newer version ``v2``. Without the header (VictoriaMetrics, proxies), a token or a server that
has ``/api/v2/write`` gets ``v2``, anything else ``v1``.

Failures are typed by what happened on the wire (the classes live in :mod:`telemetry.errors`
and are re-exported here): no answer at all is :class:`ServiceUnreachable` for ping, query
and write alike; a 429/5xx answer is :class:`WriteRetryable` to a write and
:class:`ServiceUnavailable` to anything else (both a ``TransientServiceError``, with
``retry_after_s``); a write's 4xx is :class:`WriteRejected` (the points or the target are bad)
or :class:`PayloadTooLarge` (413); a query's :class:`QueryError` or :class:`DatabaseNotFound`.
All are :class:`~telemetry.errors.ServiceError`, so the CLI prints them as one line.
:meth:`InfluxStore.write_batches` retries and splits as :mod:`telemetry.retry` says, the one
policy the bridge's writer follows too.

Reading is InfluxQL over ``/query``, which 1.x has and 2.x keeps for buckets with a DBRP
mapping.
"""

from __future__ import annotations

import email.utils
import functools
import json
import math
import re
import ssl
import time
from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any, Final, Literal, Self
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import urllib3

from telemetry.errors import (
    ConfigError,
    DatabaseNotFound,
    PayloadTooLarge,
    QueryError,
    RetentionPolicyNotFound,
    ServiceError,
    ServiceUnavailable,
    ServiceUnreachable,
    TransientServiceError,
    WriteError,
    WriteRejected,
    WriteRetryable,
)
from telemetry.retry import ONE_SHOT, Action, RetryPolicy

__all__ = [
    "DatabaseNotFound",
    "InfluxStore",
    "PayloadTooLarge",
    "QueryError",
    "RetentionPolicyNotFound",
    "ServiceUnavailable",
    "ServiceUnreachable",
    "TransientServiceError",
    "WriteError",
    "WriteRejected",
    "WriteRetryable",
    "parse_retry_after",
    "version_tuple",
]

ApiName = Literal["auto", "v1", "v2"]

#: Longest server message kept in an error (bodies of proxies can be whole HTML pages).
_MAX_REASON_CHARS: Final = 500
_VERSION: Final = re.compile(r"v?(\d+)\.(\d+)")


# -- helpers -------------------------------------------------------------------------------------


def version_tuple(version: str | None) -> tuple[int, int] | None:
    """``'1.6.7~rc0'`` → ``(1, 6)``, ``'v2.7.4'`` → ``(2, 7)``; None if there is no version."""
    match = _VERSION.match(version.strip()) if version else None
    return (int(match[1]), int(match[2])) if match else None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date); None if absent or invalid."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _server_message(body: bytes | str | None, fallback: str) -> str:
    """The message of an error body: 1.x ``{"error": ...}``, 2.x ``{"message": ...}``, or text."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    text = (body or "").strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            for key in ("error", "message"):
                if isinstance(doc.get(key), str) and doc[key].strip():
                    text = doc[key].strip()
                    break
    text = " ".join(text.split())
    if len(text) > _MAX_REASON_CHARS:
        text = text[:_MAX_REASON_CHARS] + "…"
    return text or fallback


def _busy(status: int) -> bool:
    """429 and 5xx: the server answered, but may take the same request later."""
    return status == 429 or status >= 500


# influxd 1.x answers a write to a retention policy that does not exist with HTTP 500: the same
# request fails the same way every time, so it is rejected (a bad target), not retried.
_MISSING_TARGET = re.compile(r"\b(database|retention policy) not found\b", re.IGNORECASE)


def _retry_after(headers: Any) -> float | None:
    return parse_retry_after(headers.get("Retry-After")) if headers else None


def _classify(
    status: int, headers: Any, body: bytes | str | None, url: str, http_reason: str | None = None
) -> WriteError:
    """The error of a write answered with ``status`` (not 2xx)."""
    reason = _server_message(body, http_reason or f"HTTP {status}")
    if status == 413:
        return PayloadTooLarge(reason, url=url)
    if _busy(status) and not _MISSING_TARGET.search(reason):
        return WriteRetryable(reason, _retry_after(headers), status=status, url=url)
    return WriteRejected(reason, status=status, url=url)


def _network_reason(exc: BaseException, timeout_s: float) -> str:
    """A short lower-case phrase for a connection-level failure."""
    chain = _cause_chain(exc)
    # urllib3's NewConnectionError subclasses its TimeoutError: look at the OS error first.
    for kind, phrase in (
        (ConnectionRefusedError, "connection refused"),
        (ConnectionResetError, "connection reset"),
        (urllib3.exceptions.NameResolutionError, "unknown host"),
        (urllib3.exceptions.SSLError, "TLS error"),
    ):
        if any(isinstance(c, kind) for c in chain):
            return phrase
    if any(isinstance(c, urllib3.exceptions.NewConnectionError) for c in chain):
        return "cannot connect"
    if any(isinstance(c, urllib3.exceptions.TimeoutError | TimeoutError) for c in chain):
        return f"no answer within {timeout_s:g} s"
    if any(isinstance(c, urllib3.exceptions.ProtocolError) for c in chain):
        return "connection closed by the server"
    return str(exc).strip() or type(exc).__name__


def _cause_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it, outermost first (at most 10: cause chains can be cyclic)."""
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    return chain


def _tls_reason(exc: BaseException) -> str | None:
    """The TLS failure behind a request's error, in a few words, or None if it was not one."""
    for cause in _cause_chain(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause.verify_message or "certificate verify failed"
        if isinstance(cause, ssl.SSLError):
            return (cause.reason or str(cause)).replace("_", " ").lower()
    return None


def _quote_identifier(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- the store -----------------------------------------------------------------------------------


class InfluxStore:
    """Write line protocol to, and query InfluxQL from, one database or bucket.

    Parameters
    ----------
    url : str
        Base URL, ``http://host:8086`` (``https`` for TLS; ``user:password@`` in it is taken
        as the credentials and kept out of messages).
    database : str
        Database (1.x) or bucket (1.8+ compatibility, 2.x, 3.x).
    token : str, optional
        API token (2.x/3.x; ``Authorization: Token``).
    username, password : str, optional
        1.x credentials (HTTP basic auth; ``username:password`` as the token on 1.8+).
    org : str, optional
        Organization for the v2 write API (default ``-``, which 1.8 ignores).
    api : {'auto', 'v1', 'v2'}
        Write path; ``auto`` decides from the server's version on first use.
    timeout_s : float
        Connect and read timeout of each request [s].
    """

    def __init__(
        self,
        url: str,
        database: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        org: str | None = None,
        api: ApiName | str = "auto",
        timeout_s: float = 10,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"InfluxDB URL {url!r} must look like http://host:8086")
        if api not in ("auto", "v1", "v2"):
            raise ConfigError(f"InfluxDB api {api!r} must be auto, v1 or v2")
        if not database:
            raise ConfigError("InfluxDB database/bucket name is empty")
        if parts.username is not None:  # http://user:password@host:8086: credentials apart
            username = username or unquote(parts.username)
            password = password if password is not None else unquote(parts.password or "")
            parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
        self.url = urlunsplit(parts).rstrip("/")
        self.database = database
        self.token = token or None
        self.username = username or None
        self.password = password
        self.org = org or None
        self.timeout_s = float(timeout_s)
        self._api: str | None = None if api == "auto" else api
        self._version: str | None = None
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=self.timeout_s, read=self.timeout_s),
            retries=False,
            maxsize=4,
        )
        self._headers: dict[str, str] = {}
        if self.token:
            self._headers["Authorization"] = f"Token {self.token}"
        elif self.username:
            self._headers.update(
                urllib3.make_headers(basic_auth=f"{self.username}:{self.password or ''}")
            )
        self._client: Any = None
        self._write_api: Any = None

    @classmethod
    def from_settings(cls, settings: Any, *, timeout_s: float = 10) -> InfluxStore:
        """A store from :class:`telemetry.settings.Settings` (``influx_*``)."""
        if not settings.influx_url:
            raise ConfigError("no InfluxDB URL: pass --influx-url or set ROSHANAI_INFLUX_URL")
        return cls(
            settings.influx_url,
            settings.influx_db,
            token=settings.influx_token,
            username=settings.influx_username,
            password=settings.influx_password,
            org=settings.influx_org,
            api=settings.influx_api,
            timeout_s=timeout_s,
        )

    # -- plumbing --------------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> urllib3.BaseHTTPResponse:
        """One HTTP request; no answer raises :class:`ServiceUnreachable`."""
        try:
            return self._http.request(
                method,
                self.url + path,
                body=body,
                headers={**self._headers, **(headers or {})},
                redirect=False,
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: BaseException) -> ServiceError:
        """The error of a request that got no usable answer. A TLS failure (a certificate
        that does not verify, a plain-HTTP server behind an ``https://`` URL) is the same on
        every attempt: a :class:`ServiceError` said at once, not a transient one."""
        tls = _tls_reason(exc)
        if tls is not None:
            return ServiceError(f"cannot connect to InfluxDB at {self.url}: TLS: {tls}")
        return ServiceUnreachable("InfluxDB", self.url, _network_reason(exc, self.timeout_s))

    def ping(self) -> str:
        """Check the server answers; return its version (``'unknown'`` if it sends none).

        Raises
        ------
        ServiceUnreachable
            No answer.
        ServiceUnavailable
            429 or 5xx (a proxy in front of a stopped InfluxDB answers 502/503).
        ServiceError
            Another answer: not an InfluxDB-compatible server.
        """
        resp = self._request("GET", "/ping")
        if _busy(resp.status):
            reason = _server_message(resp.data, resp.reason or f"HTTP {resp.status}")
            raise ServiceUnavailable(
                f"InfluxDB at {self.url} cannot answer /ping now (HTTP {resp.status}): {reason}",
                status=resp.status,
                retry_after_s=_retry_after(resp.headers),
            )
        if resp.status not in (200, 204):
            raise ServiceError(f"{self.url}/ping answered HTTP {resp.status}; is this InfluxDB?")
        self._version = resp.headers.get("X-Influxdb-Version") or "unknown"
        return self._version

    @property
    def version(self) -> str:
        """Server version from ``/ping`` (asked once)."""
        return self._version if self._version is not None else self.ping()

    @property
    def api(self) -> str:
        """The write path in use, ``v1`` or ``v2`` (detected on first use with ``auto``)."""
        if self._api is None:
            self._api = self._detect_api()
        return self._api

    def _detect_api(self) -> str:
        parsed = version_tuple(self.version)
        if parsed is not None:
            return "v1" if parsed < (1, 8) else "v2"
        if self.token:
            return "v2"
        # No version header: an empty write tells whether the endpoint exists at all (404).
        resp = self._request(
            "POST",
            "/api/v2/write?"
            + urlencode({"bucket": self.database, "org": self.org or "-", "precision": "ns"}),
            body=b"",
        )
        return "v1" if resp.status == 404 else "v2"

    def _v2_write_api(self) -> Any:
        if self._write_api is None:
            from influxdb_client import InfluxDBClient
            from influxdb_client.client.write_api import SYNCHRONOUS

            token = self.token
            if token is None and self.username:
                token = f"{self.username}:{self.password or ''}"  # InfluxDB 1.8 compatibility
            self._client = InfluxDBClient(
                url=self.url,
                token=token or "",
                org=self.org or "-",
                timeout=int(self.timeout_s * 1000),
                retries=False,
            )
            self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        return self._write_api

    # -- writing ---------------------------------------------------------------------------------
    def write_lines(
        self, lines: str | Sequence[str], *, retention_policy: str | None = None
    ) -> None:
        """Write line protocol (timestamps in ns) in one request.

        Parameters
        ----------
        lines : str or sequence of str
            A write body, or lines without their newlines. Nothing to write is a no-op.
        retention_policy : str, optional
            Write into this retention policy of the database (``/write?rp=``: 1.x, and the
            v1 compatibility API of 2.x/3.x, where it names a DBRP mapping). Default: the
            database's default policy.

        Raises
        ------
        WriteRejected
            4xx other than 413 and 429, with the server's message.
        PayloadTooLarge
            413.
        WriteRetryable
            429 or 5xx; ``retry_after_s`` from ``Retry-After``.
        ServiceUnreachable
            No answer (also from the version check of ``api='auto'``, which can raise
            :class:`ServiceUnavailable` too).
        """
        body = lines if isinstance(lines, str) else "\n".join(lines)
        if not body.strip():
            return
        if self.api == "v1" or retention_policy:
            self._write_v1(body.encode("utf-8"), retention_policy)
        else:
            self._write_v2(body)

    def _write_v1(self, body: bytes, retention_policy: str | None = None) -> None:
        params = {"db": self.database, "precision": "ns"}
        if retention_policy:
            params["rp"] = retention_policy
        query = urlencode(params)
        resp = self._request(
            "POST",
            f"/write?{query}",
            body=body,
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        if resp.status not in (200, 204):
            raise _classify(resp.status, resp.headers, resp.data, self.url, resp.reason)

    def _write_v2(self, body: str) -> None:
        from influxdb_client import WritePrecision
        from influxdb_client.rest import ApiException

        write_api = self._v2_write_api()
        try:
            write_api.write(
                bucket=self.database,
                org=self.org or "-",
                record=body,
                write_precision=WritePrecision.NS,
            )
        except ApiException as exc:
            if not exc.status:  # raised without a response: treat as a network failure
                raise ServiceUnreachable(
                    "InfluxDB", self.url, str(exc.reason or exc).strip() or "no answer"
                ) from None
            raise _classify(exc.status, exc.headers, exc.body, self.url, exc.reason) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._unreachable(exc) from None

    def write_batches(
        self,
        lines: Iterable[str],
        *,
        batch_lines: int = 5000,
        policy: RetryPolicy = ONE_SHOT,
        retention_policy: str | None = None,
    ) -> int:
        """Write many lines in requests of at most ``batch_lines``; return the lines written.

        Failures are handled as ``policy`` (:mod:`telemetry.retry`) classifies them: a 413
        splits the batch in halves (down to single lines), a transient failure (no answer,
        429, 5xx) is tried again up to ``policy.max_attempts`` times per request, waiting as
        its schedule and ``Retry-After`` say; anything else is raised at once.

        Parameters
        ----------
        lines : iterable of str
            Line protocol, timestamps in ns; streamed, never all in memory.
        batch_lines : int
            Lines per request.
        policy : RetryPolicy
            Default :data:`telemetry.retry.ONE_SHOT` (3 attempts, waits of 1 and 2 s).
        retention_policy : str, optional
            As in :meth:`write_lines`.

        Raises
        ------
        ServiceError
            The last failure, typed as in :meth:`write_lines`.
        """
        if batch_lines < 1:
            raise ValueError("batch_lines must be at least 1")
        if policy.max_attempts is None:
            raise ValueError("write_batches needs a policy with a last attempt")
        written = 0
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) >= batch_lines:
                written += self._write_split(batch, policy, retention_policy)
                batch = []
        if batch:
            written += self._write_split(batch, policy, retention_policy)
        return written

    def _write_split(
        self, batch: list[str], policy: RetryPolicy, retention_policy: str | None = None
    ) -> int:
        pending = [batch]  # a stack: halves of a too-large body are written in order
        written = 0
        while pending:
            chunk = pending.pop()
            try:
                policy.call(
                    functools.partial(self.write_lines, chunk, retention_policy=retention_policy)
                )
            except ServiceError as exc:
                if policy.classify(exc) is not Action.SPLIT or len(chunk) == 1:
                    raise
                half = len(chunk) // 2
                pending += [chunk[half:], chunk[:half]]
                continue
            written += len(chunk)
        return written

    # -- reading and admin -----------------------------------------------------------------------
    def query(
        self, influxql: str, *, epoch: str = "ns", database: str | None = None
    ) -> list[dict[str, Any]]:
        """Run InfluxQL; return the series of all statements.

        Parameters
        ----------
        influxql : str
            One or more statements separated by ``;``.
        epoch : {'ns', 'u', 'ms', 's', 'm', 'h'}
            Unit of the integer timestamps in ``values``.
        database : str, optional
            Default: the store's database; ``""`` for none (server-level statements).

        Returns
        -------
        list of dict
            Each ``{"name", "columns", "values"}`` and ``"tags"`` when grouped by tags, in
            statement order.

        Raises
        ------
        DatabaseNotFound
            The database does not exist (bad input, exit 2).
        RetentionPolicyNotFound
            A statement names a retention policy the database lacks (exit 2).
        QueryError
            Parse or statement errors, refused credentials.
        ServiceUnreachable
            No answer.
        ServiceUnavailable
            429 or 5xx.
        """
        db = self.database if database is None else database
        body = self._query_raw(influxql, epoch=epoch, database=db)
        series: list[dict[str, Any]] = []
        for result in body.get("results", []):
            if "error" in result:
                error = str(result["error"])
                if error.startswith("database not found"):
                    raise self._database_not_found(error, db)
                if error.startswith("retention policy not found"):
                    raise self._policy_not_found(error, db)
                raise QueryError(f"InfluxQL error from {self.url}: {error}")
            series.extend(result.get("series", []))
        return series

    def _query_raw(self, influxql: str, *, epoch: str, database: str | None) -> dict[str, Any]:
        params = {"q": influxql, "epoch": epoch}
        if database:
            params["db"] = database
        resp = self._request(
            "POST",
            "/query",
            body=urlencode(params),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        if resp.status != 200:
            reason = _server_message(resp.data, resp.reason or f"HTTP {resp.status}")
            if _busy(resp.status):
                raise ServiceUnavailable(
                    f"InfluxDB at {self.url} cannot answer the query now (HTTP {resp.status}): "
                    f"{reason}",
                    status=resp.status,
                    retry_after_s=_retry_after(resp.headers),
                )
            if reason.startswith("database not found"):  # said with an error status too
                raise self._database_not_found(reason, database or "")
            if reason.startswith("retention policy not found"):
                raise self._policy_not_found(reason, database or "")
            raise QueryError(
                f"InfluxDB at {self.url} refused the query (HTTP {resp.status}): {reason}"
            )
        try:
            doc = json.loads(resp.data)
        except ValueError:
            raise QueryError(f"InfluxDB at {self.url} answered the query with no JSON") from None
        if not isinstance(doc, dict):
            raise QueryError(f"InfluxDB at {self.url} answered the query with unexpected JSON")
        if "error" in doc:
            raise QueryError(f"InfluxQL error from {self.url}: {doc['error']}")
        return doc

    def _database_not_found(self, error: str, database: str) -> DatabaseNotFound:
        name = error.partition(":")[2].strip().strip('"') or database
        return DatabaseNotFound(
            f"{self.url} has no database {name!r} (database not found); check "
            f"--influx-db / ROSHANAI_INFLUX_DB"
        )

    def _policy_not_found(self, error: str, database: str) -> RetentionPolicyNotFound:
        name = error.partition(":")[2].strip().strip('"') or "?"
        return RetentionPolicyNotFound(
            f"database {database!r} at {self.url} has no retention policy {name!r}: set up the "
            f"rollups first (roshanai dashboards rollups --influx-url … --influx-db {database})"
        )

    def create_database(self, name: str | None = None) -> bool:
        """``CREATE DATABASE`` on the v1 path (idempotent); False without doing anything on v2
        (buckets are created with the server's own tools)."""
        if self.api != "v1":
            return False
        self.query(f"CREATE DATABASE {_quote_identifier(name or self.database)}", database="")
        return True

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        """Release connections (the store can still be used; it reconnects)."""
        if self._client is not None:
            self._client.close()
            self._client = None
            self._write_api = None
        self._http.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<InfluxStore {self.url} {self.database!r} api={self._api or 'auto'}>"
