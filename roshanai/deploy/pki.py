"""The broker's TLS: a private CA and the server certificate it signs, made with the openssl CLI.

A handful of ``openssl`` runs per deployment (not per plant), so no Python crypto dependency is
needed. The CA lives long (gateways trust it for the 20 years of their contracts; replacing it
means touching every gateway); the server certificate is short-lived and re-issued by
:func:`ensure_server_cert` whenever it is missing, expires within :data:`RENEW_DAYS`, names other
hosts than asked, or was not signed by the current CA. Private keys are written 0600.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telemetry.errors import ConfigError, InputError

__all__ = [
    "CA_DAYS",
    "RENEW_DAYS",
    "SERVER_DAYS",
    "CertInfo",
    "cert_info",
    "ensure_ca",
    "ensure_server_cert",
    "normalize_hostnames",
]

CA_DAYS = 25 * 365 + 6
"""CA validity [day]: longer than a plant's 20-year purchase contract."""
SERVER_DAYS = 825
"""Server certificate validity [day] (re-run the deploy command to renew)."""
RENEW_DAYS = 30
"""A server certificate expiring within this many days is re-issued. [day]"""

_DNS_RE = re.compile(
    r"^(?=.{1,253}$)(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)

_OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, {key_usage}
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = {san}
"""


@dataclass(frozen=True)
class CertInfo:
    """What the deploy command needs to know about an existing certificate."""

    not_after: datetime
    hostnames: frozenset[str]
    subject: str


def _openssl() -> str:
    found = shutil.which("openssl")
    if not found:
        raise ConfigError(
            "the openssl command is needed to make the broker's certificates "
            "(apt-get install openssl)"
        )
    return found


def _run(args: Sequence[str], what: str) -> str:
    proc = subprocess.run(
        [_openssl(), *args], capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise InputError(f"openssl failed to {what}: {' / '.join(tail)}")
    return proc.stdout


def normalize_hostnames(names: Sequence[str]) -> list[str]:
    """Validate DNS names and IP addresses for the certificate's SANs; loopback always added.

    Raises
    ------
    ConfigError
        A name that is neither an IP address nor a DNS name.
    """
    out: list[str] = []
    for raw in [*names, "localhost", "127.0.0.1", "::1"]:
        name = raw.strip().rstrip(".").lower()
        try:
            name = str(ipaddress.ip_address(name))
        except ValueError:
            if not _DNS_RE.fullmatch(name):
                raise ConfigError(
                    f"--tls-hostname {raw!r} is neither a DNS name nor an IP address"
                ) from None
        if name not in out:
            out.append(name)
    return out


def _san(hostnames: Sequence[str]) -> str:
    parts = []
    for name in hostnames:
        try:
            ipaddress.ip_address(name)
            parts.append(f"IP:{name}")
        except ValueError:
            parts.append(f"DNS:{name}")
    return ", ".join(parts)


def _key_args(key_type: str) -> list[str]:
    if key_type == "rsa":
        return ["-newkey", "rsa:2048"]
    if key_type == "ec":
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    raise ConfigError(f"--key-type {key_type!r} must be rsa or ec")


def cert_info(path: Path) -> CertInfo:
    """Expiry, SAN host names and subject of a PEM certificate."""
    text = _run(
        ["x509", "-in", str(path), "-noout", "-enddate", "-subject", "-ext", "subjectAltName"],
        f"read {path}",
    )
    not_after = datetime.now(UTC)
    hostnames: set[str] = set()
    subject = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("notAfter="):
            not_after = datetime.strptime(
                line[9:].replace("  ", " "), "%b %d %H:%M:%S %Y %Z"
            ).replace(tzinfo=UTC)
        elif line.startswith("subject="):
            subject = line[8:].strip()
        elif line.startswith(("DNS:", "IP Address:")):
            for item in line.split(","):
                kind, _, value = item.strip().partition(":")
                if kind == "IP Address":
                    value = str(ipaddress.ip_address(value.strip()))
                hostnames.add(value.strip().lower())
    return CertInfo(not_after, frozenset(hostnames), subject)


def ensure_ca(out: Path, *, key_type: str = "rsa", name: str = "Roshanai MQTT CA") -> bool:
    """Create ``ca.key`` (0600) and ``ca.crt`` in ``out`` unless both exist; True if made.

    Raises
    ------
    InputError
        Only one of the two exists (a half-copied directory), or openssl failed.
    """
    key, crt = out / "ca.key", out / "ca.crt"
    if key.exists() and crt.exists():
        return False
    if key.exists() or crt.exists():
        raise InputError(
            f"{out} has {'ca.key' if key.exists() else 'ca.crt'} without "
            f"{'ca.crt' if key.exists() else 'ca.key'}: restore the pair or "
            "remove it to make a new CA (every gateway must then get the new "
            "ca.crt)"
        )
    with tempfile.TemporaryDirectory(prefix="roshanai-ca-") as tmp:
        cnf = Path(tmp) / "openssl.cnf"
        cnf.write_text(_OPENSSL_CNF.format(san="DNS:unused", key_usage="digitalSignature"))
        tmp_key, tmp_crt = Path(tmp) / "ca.key", Path(tmp) / "ca.crt"
        _run(
            [
                "req",
                "-config",
                str(cnf),
                "-x509",
                *_key_args(key_type),
                "-nodes",
                "-keyout",
                str(tmp_key),
                "-out",
                str(tmp_crt),
                "-days",
                str(CA_DAYS),
                "-sha256",
                "-subj",
                f"/O=Roshanai/CN={name}",
                "-extensions",
                "ca_ext",
                "-set_serial",
                f"0x{secrets.token_hex(16)}",
            ],
            "create the CA",
        )
        _install(tmp_key, key, 0o600)
        _install(tmp_crt, crt, 0o644)
    return True


def ensure_server_cert(
    out: Path, hostnames: Sequence[str], *, key_type: str = "rsa", now: datetime | None = None
) -> str | None:
    """Issue ``server.crt`` + ``server.key`` (0600) from the CA in ``out`` when needed.

    Returns
    -------
    str or None
        Why it was (re)issued, or None if the existing one is kept.
    """
    crt, key, ca_crt, ca_key = (
        out / "server.crt",
        out / "server.key",
        out / "ca.crt",
        out / "ca.key",
    )
    now = now or datetime.now(UTC)
    reason = None
    if not crt.exists() or not key.exists():
        reason = "new"
    else:
        info = cert_info(crt)
        if info.hostnames != set(hostnames):
            reason = f"host names changed (were {', '.join(sorted(info.hostnames))})"
        elif info.not_after - now < timedelta(days=RENEW_DAYS):
            reason = f"expires {info.not_after:%Y-%m-%d}"
        elif not _signed_by(crt, ca_crt):
            reason = "not signed by the current CA"
    if reason is None:
        return None
    with tempfile.TemporaryDirectory(prefix="roshanai-cert-") as tmp:
        cnf = Path(tmp) / "openssl.cnf"
        # RSA key exchange needs keyEncipherment; an EC key only signs.
        usage = "digitalSignature, keyEncipherment" if key_type == "rsa" else "digitalSignature"
        cnf.write_text(_OPENSSL_CNF.format(san=_san(hostnames), key_usage=usage))
        tmp_key, csr, tmp_crt = Path(tmp) / "server.key", Path(tmp) / "s.csr", Path(tmp) / "s.crt"
        _run(
            [
                "req",
                "-config",
                str(cnf),
                "-new",
                *_key_args(key_type),
                "-nodes",
                "-keyout",
                str(tmp_key),
                "-out",
                str(csr),
                "-subj",
                f"/O=Roshanai/CN={hostnames[0]}",
            ],
            "create the server key",
        )
        _run(
            [
                "x509",
                "-req",
                "-in",
                str(csr),
                "-CA",
                str(ca_crt),
                "-CAkey",
                str(ca_key),
                "-set_serial",
                f"0x{secrets.token_hex(16)}",
                "-days",
                str(SERVER_DAYS),
                "-sha256",
                "-extfile",
                str(cnf),
                "-extensions",
                "server_ext",
                "-out",
                str(tmp_crt),
            ],
            "sign the server certificate",
        )
        _install(tmp_key, key, 0o600)
        _install(tmp_crt, crt, 0o644)
    return reason


def _signed_by(crt: Path, ca_crt: Path) -> bool:
    proc = subprocess.run(
        [_openssl(), "verify", "-CAfile", str(ca_crt), str(crt)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode == 0


def _install(src: Path, dest: Path, mode: int) -> None:
    """Copy ``src`` beside ``dest`` with ``mode`` from the start, then rename it into place."""
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with open(fd, "wb") as f:
        f.write(src.read_bytes())
        f.flush()
        os.fsync(f.fileno())
    tmp.chmod(mode)
    tmp.replace(dest)
