"""``roshanai deploy mosquitto``: a production broker's files from the fleet registry.

Writes into the output directory:

===================  =========  ===============================================================
file                 mode       what
===================  =========  ===============================================================
mosquitto.conf       0644       the broker configuration (:func:`broker.mosquitto_conf`)
dynamic-security.json 0600      what the broker enforces: accounts, client ids, rules
                                (:mod:`roshanai.deploy.dynsec`)
passwd               0600       mosquitto password file, PBKDF2-SHA512 hashes (same accounts)
acl                  0600       the same rules as an ACL file (:func:`broker.acl_text`)
admin.env            0600       the ``roshanai-admin`` account that ``--apply`` uses
dynsec-pending.json  0600       accounts changed in the files but not yet sent to the broker
ca.crt               0644       the private CA: give it to every gateway and bridge
ca.key               0600       the CA's key: keep it off the broker (only this command needs it)
server.crt/.key      0644/0600  the broker's certificate, signed by the CA
credentials.csv      0600       ``plant_id,username,password`` for provisioning the gateways
<bridge>.env         0600       ``ROSHANAI_MQTT_USERNAME/PASSWORD``, ``ROSHANAI_CLIENT_ID``
revoked.csv          0600       plants revoked with ``--revoke`` (not re-added from the fleet)
deploy-options.json  0644       the last run's options (no secrets), reused by a re-run for every
                                option it is not given
===================  =========  ===============================================================

With ``apply_url`` the changes since the previous run (added, revoked, rotated accounts, a
plant's inverter serials or names) are sent to the running broker
(:mod:`roshanai.deploy.control`); without it they take effect when the broker next starts.

Re-running keeps every existing account and its password (and its hash: only new or rotated
accounts are hashed), adds the fleet's new plants, and leaves accounts of plants that left the
fleet until they are revoked. Only ``plant_id``, ``inverter_serial`` and ``inverter_name`` are
read from the fleet (through ``Fleet.gateway_inverters``, which spells serials as OpenDTU does
in its topics): no other column (household names, national ids, addresses) reaches any file.
Passwords are never printed.
"""

from __future__ import annotations

import csv
import grp
import io
import json
import os
import pwd
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from roshanai.deploy import broker, control, dynsec, pki
from roshanai.deploy.passwords import (
    Account,
    hash_password,
    hash_passwords,
    new_password,
    read_credentials,
    read_password_file,
    verify_password,
    write_credentials,
    write_password_file,
)
from telemetry.errors import ConfigError, InputError
from telemetry.fileio import atomic_path
from telemetry.registry import Fleet

__all__ = ["DeployReport", "deploy_mosquitto", "parse_owner", "read_options", "write_options"]

OPTIONS_FILE = "deploy-options.json"
_OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "tls_hostname": (list,),
    "port": (int,),
    "bind": (str,),
    "plain_port": (int,),
    "config_dir": (str,),
    "data_dir": (str,),
    "bridges": (int,),
    "report_interval_s": (int, float),
    "outage_hours": (int, float),
    "opendtu_prefix": (str,),
    "ahoy_prefix": (str,),
    "key_type": (str,),
    "broker_user": (str,),
    "dynsec_plugin": (str,),
}

SPOT_CHECKS = 16
"""Kept hashes verified against credentials.csv on each run (a mismatch rehashes all)."""


@dataclass
class DeployReport:
    """What a run did (counts and file names; never a password)."""

    out: Path
    accounts: int = 0
    plants: int = 0
    added: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    rotated: list[str] = field(default_factory=list)
    reinstated: list[str] = field(default_factory=list)
    not_in_fleet: list[str] = field(default_factory=list)
    hashed: int = 0
    rehashed_all: bool = False
    ca_created: bool = False
    server_cert: str | None = None
    hostnames: list[str] = field(default_factory=list)
    sizing: broker.QueueSizing | None = None
    files: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    applied: control.ApplyResult | None = None
    dynsec_created: bool = False


def parse_owner(spec: str) -> tuple[int, int]:
    """``user``, ``user:group``, ``uid`` or ``uid:gid`` → (uid, gid).

    Raises
    ------
    ConfigError
        Unknown user or group.
    """
    user, _, group = spec.partition(":")
    try:
        if user.isdigit():
            uid = int(user)
            gid = int(group) if group.isdigit() else (grp.getgrnam(group).gr_gid if group else uid)
        else:
            entry = pwd.getpwnam(user)
            uid = entry.pw_uid
            gid = (
                (int(group) if group.isdigit() else grp.getgrnam(group).gr_gid)
                if group
                else entry.pw_gid
            )
    except KeyError:
        raise ConfigError(
            f"--broker-user {spec!r}: no such user or group on this machine "
            "(a uid[:gid] works for a container's user)"
        ) from None
    return uid, gid


def read_options(out: Path) -> dict[str, object]:
    """The options the last run in ``out`` used ({} before the first run).

    Raises
    ------
    InputError
        The file is not what :func:`write_options` writes.
    """
    path = out / OPTIONS_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable ({exc}); delete it and pass every option") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: not an object; delete it and pass every option")
    options = {}
    for key, value in doc.items():
        kinds = _OPTION_TYPES.get(key)
        if kinds is None or value is None:
            continue
        if not isinstance(value, kinds) or isinstance(value, bool):
            raise InputError(f"{path}: {key} = {value!r} is not a valid value")
        options[key] = value
    return options


def write_options(out: Path, options: dict[str, object]) -> None:
    """Record the options of a successful run for the next one (no secrets among them)."""
    _write_text(
        out / OPTIONS_FILE,
        json.dumps(
            {k: v for k, v in options.items() if k in _OPTION_TYPES and v is not None},
            indent=2,
            sort_keys=True,
        )
        + "\n",
        0o644,
    )


def _check_names(
    inverters: dict[str, tuple[list[str], list[str]]], accounts: Collection[str]
) -> None:
    """Refuse AhoyDTU names the broker could not give to their plant alone.

    Every account may publish under ``<ahoy prefix>/<its name>/`` (an inverter named like its
    plant). The registry refuses a name that is another plant's id in the fleet; this refuses
    the names of the other accounts: a bridge's, or a plant's that left the fleet and is not
    revoked yet (among ``accounts``).
    """
    for plant_id, (_, names) in inverters.items():
        for name in names:
            if broker.is_reserved(name):
                raise InputError(
                    f"inverter_name {name!r} of plant {plant_id} is a bridge "
                    "account's name; rename the inverter (in AhoyDTU and the fleet)"
                )
            if name != plant_id and name in accounts:
                raise InputError(
                    f"inverter_name {name!r} of plant {plant_id} is the account of "
                    f"a plant no longer in the fleet: --revoke {name}, or rename "
                    "the inverter"
                )


def _read_revoked(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return {r[0]: r[1] for r in rows[1:] if len(r) >= 2}


def _write_text(path: Path, text: str, mode: int) -> None:
    with atomic_path(path, mode=mode) as tmp:
        tmp.write_text(text, encoding="utf-8")


def deploy_mosquitto(
    fleet: Fleet,
    out: Path,
    opts: broker.BrokerOptions,
    *,
    tls_hostnames: Sequence[str] = (),
    key_type: str = "rsa",
    revoke: Sequence[str] = (),
    rotate: Sequence[str] = (),
    reinstate: Sequence[str] = (),
    rehash: bool = False,
    owner: tuple[int, int] | None = None,
    now: datetime | None = None,
    apply_url: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DeployReport:
    """Create or update the broker's files in ``out`` (see the module docstring).

    Raises
    ------
    InputError
        A plant named like a bridge account, an unknown id to revoke/rotate/reinstate, an
        unreadable existing file, openssl failing.
    ConfigError
        Bad options (host names, prefixes, owner).
    ServiceError
        ``apply_url`` given and the broker cannot be reached or refuses the admin account
        (the files are written by then; the changes stay pending).
    """
    now = now or datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    report = DeployReport(out=out)
    plant_ids = fleet.plant_ids
    reserved = [p for p in plant_ids if broker.is_reserved(p)]
    if reserved:
        raise InputError(
            f"{fleet.source}: plant_id {reserved[0]!r} is reserved for the bridges' "
            "accounts (bridge, bridge-2, ...); rename the plant"
        )
    inverters = fleet.gateway_inverters()
    _check_names(inverters, ())
    hostnames = pki.normalize_hostnames(tls_hostnames)
    if not out.exists():
        out.mkdir(parents=True)
        out.chmod(0o750)  # the broker's group may enter; secrets inside stay 0600

    creds_path, passwd_path, revoked_path = (
        out / "credentials.csv",
        out / "passwd",
        out / "revoked.csv",
    )
    accounts = {a.username: a for a in read_credentials(creds_path)}
    old_hashes = read_password_file(passwd_path)
    revoked = _read_revoked(revoked_path)

    for name in revoke:
        if name not in accounts:
            raise InputError(f"--revoke {name}: no such account in {creds_path}")
    for name in rotate:
        if name not in accounts or name in revoke:
            raise InputError(f"--rotate {name}: no such account in {creds_path}")
    for name in reinstate:
        if name not in revoked:
            raise InputError(f"--reinstate {name}: not a revoked account")

    for name in revoke:
        del accounts[name]
        revoked[name] = stamp
        report.revoked.append(name)
    for name in reinstate:
        del revoked[name]
        report.reinstated.append(name)
    fresh: set[str] = set()
    for name in rotate:
        accounts[name] = Account(accounts[name].plant_id, name, new_password())
        fresh.add(name)
        report.rotated.append(name)
    for name in [*broker.bridge_accounts(opts.bridges), *plant_ids]:
        if name not in accounts and name not in revoked:
            accounts[name] = Account(name, name, new_password())
            fresh.add(name)
            if not broker.is_reserved(name):
                report.added.append(name)
    fleet_set = set(plant_ids)
    report.not_in_fleet = [n for n in accounts if n not in fleet_set and not broker.is_reserved(n)]
    _check_names(inverters, accounts.keys())

    # Reuse the hashes of unchanged accounts (500,000 PBKDF2 runs take about a minute).
    keep = {n for n in accounts if n not in fresh and n in old_hashes}
    sample = random.sample(sorted(keep), min(SPOT_CHECKS, len(keep)))
    if rehash or not all(verify_password(accounts[n].password, old_hashes[n]) for n in sample):
        report.rehashed_all = not rehash and bool(keep)
        keep = set()
    todo = [n for n in accounts if n not in keep]
    hashes = dict(zip(todo, hash_passwords(accounts[n].password for n in todo), strict=True))
    report.hashed = len(todo)
    ordered = {n: (old_hashes[n] if n in keep else hashes[n]) for n in accounts}

    # credentials.csv first: it is the source of truth the next run re-derives the rest from.
    write_credentials(creds_path, accounts.values())
    write_password_file(passwd_path, ordered)
    bridges = [n for n in accounts if broker.is_reserved(n)]
    account_inverters = {p: v for p, v in inverters.items() if p in accounts}
    acl = broker.acl_text(bridges, account_inverters, opts, generated=stamp)
    _write_text(out / "acl", acl, 0o600)

    # What the broker enforces: the plugin's file (the same hashes), and the admin account.
    admin_password = _read_admin(out / "admin.env") or new_password()
    _write_text(
        out / "admin.env",
        "# Generated by roshanai deploy mosquitto: the account that "
        "applies account changes\n# to a running broker (--apply). Not for gateways.\n"
        f"ROSHANAI_MQTT_USERNAME={dynsec.ADMIN_ACCOUNT}\n"
        f"ROSHANAI_MQTT_PASSWORD={admin_password}\n",
        0o600,
    )
    doc = dynsec.document(
        {**ordered, dynsec.ADMIN_ACCOUNT: hash_password(admin_password)},
        bridges,
        account_inverters,
        opendtu_prefix=opts.opendtu_prefix,
        ahoy_prefix=opts.ahoy_prefix,
    )
    dynsec_path = out / dynsec.DYNSEC_FILE
    old_doc = _read_json(dynsec_path)
    report.dynsec_created = old_doc is None
    with atomic_path(dynsec_path, mode=0o600) as tmp:  # msgspec: 100 MB in a second
        tmp.write_bytes(msgspec.json.format(msgspec.json.encode(doc), indent=1) + b"\n")
    passwords = {a.username: a.password for a in accounts.values()}
    pending = control.read_pending(out)
    if old_doc is not None:
        pending |= control.changed_accounts(old_doc, doc, passwords)
    pending.discard(dynsec.ADMIN_ACCOUNT)
    control.write_pending(out, pending)
    if revoked or revoked_path.exists():
        _write_text(
            revoked_path,
            "plant_id,revoked_at\n" + "".join(f"{k},{v}\n" for k, v in revoked.items()),
            0o600,
        )
    for name in bridges:
        a = accounts[name]
        _write_text(
            out / f"{name}.env",
            "# Generated by roshanai deploy mosquitto: this bridge's broker account.\n"
            f"ROSHANAI_MQTT_USERNAME={a.username}\nROSHANAI_MQTT_PASSWORD={a.password}\n"
            f"ROSHANAI_CLIENT_ID={a.username}\n",
            0o600,
        )

    report.ca_created = pki.ensure_ca(out, key_type=key_type)
    report.server_cert = pki.ensure_server_cert(out, hostnames, key_type=key_type, now=now)
    report.hostnames = hostnames
    plants_with_accounts = sum(1 for n in accounts if not broker.is_reserved(n))
    report.sizing = broker.queue_sizing(max(plants_with_accounts, len(plant_ids)), opts)
    _write_text(
        out / "mosquitto.conf",
        broker.mosquitto_conf(opts, report.sizing, generated=stamp, fleet_source=fleet.source),
        0o644,
    )

    if owner is not None:  # the files the broker itself reads
        try:
            for name in (
                "passwd",
                "acl",
                dynsec.DYNSEC_FILE,
                "server.key",
                "server.crt",
                "ca.crt",
                "mosquitto.conf",
            ):
                os.chown(out / name, *owner)
            os.chown(out, -1, owner[1])
        except PermissionError:
            raise ConfigError("--broker-user needs root (chown)") from None
    report.accounts = len(accounts)
    report.plants = plants_with_accounts
    report.pending = sorted(pending)
    if apply_url and pending:
        cmds = control.commands_for(pending, doc, passwords)
        _check_stall(len(pending), len(cmds), len(doc["clients"]), out)
        report.applied = control.push(
            apply_url, out / "ca.crt", admin_password, cmds, progress=progress
        )
        report.applied.accounts = len(pending)
        if not report.applied.errors:
            control.write_pending(out, ())
            report.pending = []
    report.files = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    return report


def _check_stall(changed: int, commands: int, accounts: int, out: Path) -> None:
    """Refuse an ``--apply`` that would hold the broker longer than a restart would (a change
    of every plant's rules, as an upgrade that adds a topic to them all)."""
    stall_s = control.stall_estimate_s(commands, accounts)
    if stall_s <= control.MAX_APPLY_STALL_S:
        return
    took = f"{stall_s / 3600:.1f} h" if stall_s >= 3600 else f"{stall_s / 60:.0f} min"
    raise InputError(
        f"--apply: {changed:,} changed accounts are {commands:,} plugin commands, and the "
        f"plugin rewrites its whole file after each while the broker waits (with "
        f"{accounts:,} accounts: up to about {took} in all). The files are written: restart the "
        f"broker at a quiet hour instead (it loads {dynsec.DYNSEC_FILE} at start), then delete "
        f"{out / control.PENDING_FILE}"
    )


def _read_admin(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "ROSHANAI_MQTT_PASSWORD" and value.strip():
            return value.strip()
    raise InputError(
        f"{path} has no ROSHANAI_MQTT_PASSWORD; delete it (a new admin password "
        "takes effect when the broker restarts)"
    )


def _read_json(path: Path) -> dict[str, object] | None:
    try:
        doc = msgspec.json.decode(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, msgspec.DecodeError) as exc:
        raise InputError(
            f"{path}: unreadable ({exc}); delete it and restart the broker after this run"
        ) from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: not an object; delete it and restart the broker after this run")
    return doc
