"""Real mosquitto, influxd and VictoriaMetrics processes for the tests.

Plain classes, usable outside pytest (``tests/conftest.py`` wraps them in fixtures). Every
server listens on 127.0.0.1 only, on a free port chosen at construction; ``stop()`` then
``start()`` brings it back on the same port with the same data directory, so tests can restart a
broker or a database and check what survived. Every wait is bounded in time; a server that does
not come up raises :class:`ServerStartError` with the tail of its log.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn, Self

import requests

__all__ = [
    "BOOTSTRAP_HINT",
    "InfluxD",
    "MissingBinaryError",
    "Mosquitto",
    "ServerProcess",
    "ServerStartError",
    "VictoriaMetrics",
    "find_binary",
    "free_port",
    "wait_for_port",
]

BOOTSTRAP_HINT = "run `bin/bootstrap --services` to install mosquitto, influxd and victoria-metrics"
LOOPBACK = "127.0.0.1"


class MissingBinaryError(RuntimeError):
    """A server binary the tests need is not installed."""


class ServerStartError(RuntimeError):
    """A server process exited or did not answer in time; the message has its log tail."""


def find_binary(name: str, *candidates: str, env: str | None = None) -> str:
    """Locate a server binary: ``$env`` if set, else ``PATH``, else the given absolute paths.

    Raises
    ------
    MissingBinaryError
        With a message telling how to install it.
    """
    override = os.environ.get(env) if env else None
    if override:
        if os.access(override, os.X_OK):
            return override
        raise MissingBinaryError(f"${env}={override} is not an executable file")
    found = shutil.which(name)
    if found:
        return found
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    raise MissingBinaryError(
        f"{name} is not installed (looked in PATH and {candidates}); {BOOTSTRAP_HINT}"
    )


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_accepts(port: int, host: str = LOOPBACK, timeout_s: float = 0.5) -> bool:
    """True if a TCP connection to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def wait_for_port(port: int, host: str = LOOPBACK, timeout_s: float = 10.0) -> bool:
    """Poll until ``host:port`` accepts connections; False after ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / 0.05) + 1):
        if port_accepts(port, host):
            return True
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return False


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # A pytest run killed with SIGKILL must not leave servers behind. PDEATHSIG fires when the
    # forking *thread* ends, so it is only set for servers started from the main thread.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


_live: weakref.WeakSet[ServerProcess] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_live):
        with contextlib.suppress(Exception):
            server.kill()


class ServerProcess:
    """One server process with a work directory, a log file and bounded start/stop.

    Subclasses implement :meth:`command` and :meth:`_ready`.
    """

    name = "server"
    start_timeout_s = 30.0
    stop_timeout_s = 30.0

    def __init__(self, workdir: Path | str) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.output_path = self.workdir / f"{self.name}.out"
        self.proc: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None
        self.starts = 0
        self._cwd: Path | None = None

    # -- to override -------------------------------------------------------------------------
    def command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def log_paths(self) -> list[Path]:
        """Files whose tail explains a failure (the process output and any own log file)."""
        return [self.output_path]

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> Self:
        """Start the process (again) and wait until it answers; idempotent while running."""
        if self.running:
            return self
        self._close_output()
        self._out = open(self.output_path, "ab")  # noqa: SIM115 - closed in stop()/kill()
        self._out.write(f"\n==== start #{self.starts + 1}: {' '.join(self.command())}\n".encode())
        self._out.flush()
        main = threading.current_thread() is threading.main_thread()
        self.proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            cwd=self._cwd or self.workdir,
            preexec_fn=_die_with_parent if main else None,
        )
        self.starts += 1
        _live.add(self)
        deadline = time.monotonic() + self.start_timeout_s
        for _ in range(int(self.start_timeout_s / 0.05) + 1):
            if self.proc.poll() is not None:
                self._fail(f"exited with code {self.proc.returncode} during start")
            if self._ready():
                return self
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.kill()
        self._fail(f"did not answer within {self.start_timeout_s:.0f} s")

    def stop(self, timeout_s: float | None = None) -> int | None:
        """SIGTERM and wait (the server flushes its data); SIGKILL if it does not exit in time.

        Returns the exit code, or None if it was not running.
        """
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s or self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._close_output()
        return self.proc.returncode

    def kill(self) -> int | None:
        """SIGKILL: the server gets no chance to flush anything."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._close_output()
        return self.proc.returncode

    def restart(self) -> Self:
        """``stop()`` then ``start()`` on the same port and data directory."""
        self.stop()
        return self.start()

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of each log file, for error messages."""
        parts = []
        for path in self.log_paths():
            try:
                text = path.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            parts.append(f"--- {path} (last {len(text)} lines)\n" + "\n".join(text))
        return "\n".join(parts) or "(no log output)"

    def _close_output(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def _fail(self, what: str) -> NoReturn:
        raise ServerStartError(f"{self.name} {what}: {' '.join(self.command())}\n{self.log_tail()}")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {getattr(self, 'url', '')} {state} pid={self.pid}>"


# -- mosquitto ---------------------------------------------------------------------------------

MOSQUITTO_DEFAULTS: dict[str, str] = {
    "allow_anonymous": "true",
    "persistence": "true",
    "autosave_interval": "1",
    "max_queued_messages": "1000000",
    "max_queued_bytes": "0",
    "max_inflight_messages": "1000",
    "set_tcp_nodelay": "true",
    "connection_messages": "true",
}


class Mosquitto(ServerProcess):
    """A mosquitto broker on 127.0.0.1 with persistence in its work directory.

    Parameters
    ----------
    workdir
        Holds the config, the persistence file ``mosquitto.db`` and the logs.
    port
        Listener port; a free one by default. Ignored with ``config_file`` (read from it).
    options
        Global options overriding :data:`MOSQUITTO_DEFAULTS` (``None`` as a value removes one).
    extra_lines
        Lines appended verbatim to the generated config (e.g. a second ``listener`` block).
    config_file
        Start from this config instead of generating one (a production config from
        ``roshanai deploy mosquitto``). The process runs in the file's directory so relative
        paths resolve; as root, a copy with ``user root`` is used so mosquitto keeps access to
        files root created. ``tls`` tells the URL scheme; by default ``mqtts`` if the file
        mentions ``certfile``.
    """

    name = "mosquitto"
    start_timeout_s = 15.0

    def __init__(
        self,
        workdir: Path | str,
        *,
        port: int | None = None,
        options: Mapping[str, str | None] | None = None,
        extra_lines: Sequence[str] = (),
        config_file: Path | str | None = None,
        tls: bool | None = None,
        binary: str | None = None,
    ) -> None:
        super().__init__(workdir)
        self.binary = binary or find_binary(
            "mosquitto", "/usr/sbin/mosquitto", env="ROSHANAI_MOSQUITTO"
        )
        self.host = LOOPBACK
        self.log_path = self.workdir / "mosquitto.log"
        if config_file is not None:
            source = Path(config_file).resolve()
            text = source.read_text()
            listeners = re.findall(r"^\s*listener\s+(\d+)", text, flags=re.MULTILINE)
            if port is None and not listeners:
                raise ValueError(f"{source} has no `listener PORT` line; pass port=")
            self.port = port if port is not None else int(listeners[0])
            self.tls = tls if tls is not None else bool(re.search(r"^\s*certfile\s", text, re.M))
            self._cwd = source.parent
            if os.geteuid() == 0 and not re.search(r"^\s*user\s", text, flags=re.MULTILINE):
                self.config_path = self.workdir / "mosquitto-as-root.conf"
                self.config_path.write_text(text.rstrip("\n") + "\nuser root\n")
            else:
                self.config_path = source
        else:
            self.port = port if port is not None else free_port()
            self.tls = bool(tls)
            self.data_dir = self.workdir / "data"
            self.data_dir.mkdir(exist_ok=True)
            merged: dict[str, str | None] = {**MOSQUITTO_DEFAULTS, **(options or {})}
            lines = [f"listener {self.port} {LOOPBACK}"]
            lines += [f"{key} {value}" for key, value in merged.items() if value is not None]
            lines += [
                f"persistence_location {self.data_dir}/",
                f"log_dest file {self.log_path}",
                "log_type error",
                "log_type warning",
                "log_type notice",
                "log_type information",
                "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            ]
            if os.geteuid() == 0:
                lines.append("user root")  # else mosquitto drops to `mosquitto` and cannot write
            lines += list(extra_lines)
            self.config_path = self.workdir / "mosquitto.conf"
            self.config_path.write_text("\n".join(lines) + "\n")

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def command(self) -> list[str]:
        return [self.binary, "-c", str(self.config_path)]

    def log_paths(self) -> list[Path]:
        return [self.output_path, self.log_path]

    def _ready(self) -> bool:
        return port_accepts(self.port, self.host)


# -- influxd 1.x -------------------------------------------------------------------------------


class InfluxD(ServerProcess):
    """An InfluxDB 1.x server (Debian's influxd 1.6.7) on 127.0.0.1, auth off by default.

    Parameters
    ----------
    workdir
        Holds the config, ``meta/``, ``data/``, ``wal/`` and the process output.
    http_options
        Extra or overriding ``[http]`` settings as TOML values, e.g.
        ``{"max-body-size": "1000"}`` or ``{"auth-enabled": "true"}``.
    extra_config
        TOML text appended to the generated config.
    """

    name = "influxd"

    def __init__(
        self,
        workdir: Path | str,
        *,
        port: int | None = None,
        http_options: Mapping[str, str] | None = None,
        extra_config: str = "",
        binary: str | None = None,
    ) -> None:
        super().__init__(workdir)
        self.binary = binary or find_binary("influxd", "/usr/bin/influxd", env="ROSHANAI_INFLUXD")
        self.host = LOOPBACK
        self.port = port if port is not None else free_port()
        self.rpc_port = free_port()
        while self.rpc_port == self.port:  # bounded in practice: the OS hands out distinct ports
            self.rpc_port = free_port()
        http = {
            "enabled": "true",
            "bind-address": f'"{LOOPBACK}:{self.port}"',
            "auth-enabled": "false",
            "log-enabled": "false",
            "write-tracing": "false",
            "pprof-enabled": "false",
            "https-enabled": "false",
            "unix-socket-enabled": "false",
            **(http_options or {}),
        }
        config = f"""\
reporting-disabled = true
bind-address = "{LOOPBACK}:{self.rpc_port}"

[meta]
  dir = "{self.workdir / "meta"}"
  retention-autocreate = true
  logging-enabled = false

[data]
  dir = "{self.workdir / "data"}"
  wal-dir = "{self.workdir / "wal"}"
  wal-fsync-delay = "0s"
  index-version = "inmem"
  query-log-enabled = false

[coordinator]
  write-timeout = "10s"
  max-concurrent-queries = 0
  query-timeout = "0s"

[retention]
  enabled = true
  check-interval = "30m0s"

[shard-precreation]
  enabled = true

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
{chr(10).join(f"  {key} = {value}" for key, value in http.items())}

[logging]
  format = "logfmt"
  level = "info"
  suppress-logo = true

[ifql]
  enabled = false

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false

[continuous_queries]
  enabled = true
  log-enabled = true
  run-interval = "1s"
"""
        self.config_path = self.workdir / "influxdb.conf"
        self.config_path.write_text(config + extra_config)
        self._http = requests.Session()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        return [self.binary, "-config", str(self.config_path)]

    def _ready(self) -> bool:
        try:
            return self._http.get(f"{self.url}/ping", timeout=1).status_code == 204
        except requests.RequestException:
            return False

    def query(self, q: str, db: str | None = None, *, epoch: str = "ns") -> dict[str, Any]:
        """Run InfluxQL (POST ``/query``) and return the decoded JSON.

        Raises
        ------
        RuntimeError
            On an HTTP error or a statement error in the result.
        """
        params = {"q": q, "epoch": epoch}
        if db:
            params["db"] = db
        resp = self._http.post(f"{self.url}/query", data=params, timeout=30)
        if resp.status_code != 200:
            raise RuntimeError(f"influxd {resp.status_code} for {q!r}: {resp.text.strip()}")
        body: dict[str, Any] = resp.json()
        errors = [r["error"] for r in body.get("results", []) if "error" in r]
        if errors:
            raise RuntimeError(f"influxd error for {q!r}: {'; '.join(errors)}")
        return body

    def create_database(self, name: str) -> None:
        self.query(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        self.query(f'DROP DATABASE "{name}"')

    def kill(self) -> int | None:
        code = super().kill()
        self._http.close()  # do not reuse connections to a dead server
        return code

    def stop(self, timeout_s: float | None = None) -> int | None:
        code = super().stop(timeout_s)
        self._http.close()
        return code


# -- VictoriaMetrics ---------------------------------------------------------------------------


class VictoriaMetrics(ServerProcess):
    """A single-node VictoriaMetrics on 127.0.0.1; it accepts InfluxDB line protocol.

    ``/write`` and ``/api/v2/write`` take line protocol; each field becomes a series named
    ``<measurement>_<field>`` with the tags as labels (a ``db`` label too when ``/write?db=``
    is used). String fields are not stored as strings. Retention is 100 years so tests can
    write historic timestamps.
    """

    name = "victoria-metrics"

    def __init__(
        self,
        workdir: Path | str,
        *,
        port: int | None = None,
        extra_args: Sequence[str] = (),
        binary: str | None = None,
    ) -> None:
        super().__init__(workdir)
        self.binary = binary or find_binary(
            "victoria-metrics", "/usr/bin/victoria-metrics", env="ROSHANAI_VICTORIA_METRICS"
        )
        self.host = LOOPBACK
        self.port = port if port is not None else free_port()
        self.data_dir = self.workdir / "data"
        self.extra_args = list(extra_args)
        self._http = requests.Session()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        return [
            self.binary,
            f"-httpListenAddr={LOOPBACK}:{self.port}",
            f"-storageDataPath={self.data_dir}",
            "-retentionPeriod=100y",
            "-search.disableCache",
            "-search.latencyOffset=1s",
            "-loggerLevel=WARN",
            *self.extra_args,
        ]

    def _ready(self) -> bool:
        try:
            return self._http.get(f"{self.url}/health", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def flush(self) -> None:
        """Make everything ingested so far visible to queries and exports."""
        self._http.get(f"{self.url}/internal/force_flush", timeout=30).raise_for_status()

    def export(
        self,
        match: str = '{__name__=~".+"}',
        *,
        min_series: int = 0,
        timeout_s: float = 10.0,
    ) -> list[dict[str, Any]]:
        """Read series back through ``/api/v1/export`` (one JSON object per series).

        Flushes first; polls (bounded by ``timeout_s``) until at least ``min_series`` series
        are there, since ingestion of line protocol is asynchronous.
        """
        import json

        deadline = time.monotonic() + timeout_s
        rows: list[dict[str, Any]] = []
        for _ in range(int(timeout_s / 0.1) + 1):
            self.flush()
            resp = self._http.get(
                f"{self.url}/api/v1/export",
                params={"match[]": match, "start": "0"},
                timeout=30,
            )
            resp.raise_for_status()
            rows = [json.loads(line) for line in resp.text.splitlines() if line.strip()]
            if len(rows) >= min_series or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        return rows

    def kill(self) -> int | None:
        code = super().kill()
        self._http.close()
        return code

    def stop(self, timeout_s: float | None = None) -> int | None:
        code = super().stop(timeout_s)
        self._http.close()
        return code
