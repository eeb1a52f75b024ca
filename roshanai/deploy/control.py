"""Apply account changes to a running broker through the dynamic-security plugin's ``$CONTROL``.

mosquitto reads ``dynamic-security.json`` only when it starts (a SIGHUP does not reload it), so
``roshanai deploy mosquitto --apply mqtts://host:8883`` sends what changed since the previous
file as plugin commands (the commands ``mosquitto_ctrl dynsec`` sends) over the TLS listener,
as the ``roshanai-admin`` account. The plugin disconnects a deleted or changed account at once;
the broker then saves its state into the same file.

What changed is judged by meaning, not by bytes: an account whose stored hash still verifies
its password (the broker re-salts the passwords it is given), with the same client id and role
rules, is left alone. Accounts whose change could not be sent stay listed in
``dynsec-pending.json`` and are sent by the next ``--apply``; a broker restart loads the whole
file and makes the list moot.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware_bridge.mqtt import InboundMessage, MqttLink
from roshanai.deploy.dynsec import ADMIN_ACCOUNT, BRIDGE_ROLE, CONTROL_TOPIC
from roshanai.deploy.passwords import verify_password
from telemetry.errors import InputError, ServiceError
from telemetry.fileio import atomic_path

__all__ = [
    "MAX_APPLY_STALL_S",
    "PENDING_FILE",
    "ApplyResult",
    "changed_accounts",
    "commands_for",
    "push",
    "read_pending",
    "stall_estimate_s",
    "write_pending",
]

PENDING_FILE = "dynsec-pending.json"
MAX_BATCH_BYTES = 256 * 1024
"""Commands per control message are batched up to this size (well under the broker's packet
limit, :data:`roshanai.deploy.broker.MAX_PACKET_BYTES`)..."""
MAX_BATCH_COMMANDS = 16
"""... and this count: the plugin answers a message after all its commands, each of which may
rewrite its whole file (measured: 9 s at 550,000 plants), so small messages keep every wait
bounded and let the progress bar move."""
SECONDS_PER_COMMAND = 30.0
"""Allowance per command on top of ``timeout_s`` when waiting for the plugin's answer."""
SAVE_S_PER_ACCOUNT = 17e-6
"""The plugin's rewrite of its file after a command, per account it holds (measured: 1.7 s at
100,000 plants, 9.1 s at 550,000; 4,000 commands took 39 s at 1,000 plants and 12,000 took
309 s at 3,000: 9.6 and 8.6 µs per account). [s]"""
MAX_APPLY_STALL_S = 600.0
"""Longest :func:`stall_estimate_s` that ``--apply`` sends: the broker serves nobody while the
plugin rewrites its file, and a restart loads any number of changes at once. [s]"""
_IGNORED_ERRORS = ("not found",)
"""Deleting what is already gone is not a failure (commands are sent delete-then-create)."""


@dataclass
class ApplyResult:
    """What a push did."""

    accounts: int = 0
    commands: int = 0
    messages: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def _roles(doc: Mapping[str, Any]) -> dict[str, frozenset[tuple[str, str, bool]]]:
    return {
        r["rolename"]: frozenset(
            (a["acltype"], a["topic"], bool(a["allow"])) for a in r.get("acls", ())
        )
        for r in doc.get("roles", ())
    }


def _clients(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["username"]: c for c in doc.get("clients", ())}


def _same_password(old: Mapping[str, Any], new: Mapping[str, Any], password: str | None) -> bool:
    """The old entry accepts the password the new one stands for."""
    keys = ("salt", "password", "iterations")
    if all(old.get(k) == new.get(k) for k in keys):
        return True  # the same hash (no PBKDF2 run: 500,000 of them would take a minute)
    return _verifies(old, password)


def _verifies(entry: Mapping[str, Any], password: str | None) -> bool:
    if password is None or not all(k in entry for k in ("salt", "password", "iterations")):
        return False
    return verify_password(
        password, f"$7${int(entry['iterations'])}${entry['salt']}${entry['password']}"
    )


def changed_accounts(
    old: Mapping[str, Any], new: Mapping[str, Any], passwords: Mapping[str, str]
) -> set[str]:
    """Usernames whose account differs in meaning between two plugin documents.

    Parameters
    ----------
    old, new : mapping
        Plugin documents (``new`` is the one just generated).
    passwords : mapping
        username → clear-text password of the accounts in ``new``.
    """
    old_clients, new_clients = _clients(old), _clients(new)
    old_roles, new_roles = _roles(old), _roles(new)
    out = set(old_clients) ^ set(new_clients)
    for name in set(old_clients) & set(new_clients):
        o, n = old_clients[name], new_clients[name]
        o_roles = [r["rolename"] for r in o.get("roles", ())]
        n_roles = [r["rolename"] for r in n.get("roles", ())]
        if (
            o.get("clientid") != n.get("clientid")
            or o_roles != n_roles
            or any(old_roles.get(r) != new_roles.get(r) for r in n_roles)
            or bool(o.get("disabled")) != bool(n.get("disabled"))
            or not _same_password(o, n, passwords.get(name))
        ):
            out.add(name)
    return out


def commands_for(
    names: Iterable[str], new: Mapping[str, Any], passwords: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Plugin commands that make each named account as ``new`` has it (or delete it).

    Every account is deleted and created again (with its role), so the commands also repair
    a broker whose state is not what the previous file said; deleting what is not there is
    answered "not found" without a save (mosquitto 2.0.11's plugin source), while every
    command that changes something makes the plugin rewrite its whole file (measured: 1.7 s
    at 100,000 plants, 9 s at 550,000). The
    admin account, which sends them, is never touched: a change to it takes effect at the
    broker's next start.
    """
    clients, roles = _clients(new), {r["rolename"]: r for r in new.get("roles", ())}
    names = sorted(n for n in set(names) if n != ADMIN_ACCOUNT)
    bridges = sorted(
        n
        for n, c in clients.items()
        if any(r["rolename"] == BRIDGE_ROLE for r in c.get("roles", ()))
    )
    if any(n in bridges for n in names):  # the shared role is recreated: every bridge with it
        names = sorted(set(names) | set(bridges))
    cmds: list[dict[str, Any]] = []
    if any(n in bridges for n in names):
        cmds += [
            {"command": "deleteRole", "rolename": BRIDGE_ROLE},
            {"command": "createRole", **roles[BRIDGE_ROLE]},
        ]
    for name in names:
        cmds.append({"command": "deleteClient", "username": name})
        entry = clients.get(name)
        if entry is None:
            # Revoked: deleting the client is enough (and one command: the plugin rewrites
            # its whole file after each). Its role, held by nobody, goes at the next start.
            continue
        own_role = f"plant:{name}"
        if own_role in roles:
            cmds.append({"command": "deleteRole", "rolename": own_role})
        if own_role in roles:
            cmds.append({"command": "createRole", **roles[own_role]})
        cmds.append(
            {
                "command": "createClient",
                "username": name,
                "password": passwords[name],
                "clientid": entry["clientid"],
                "roles": entry.get("roles", []),
            }
        )
    return cmds


def stall_estimate_s(commands: int, accounts: int) -> float:
    """How long ``commands`` keep a broker with ``accounts`` accounts busy rewriting the plugin's
    file: on the high side (a delete of what is not there saves nothing). [s]"""
    return commands * accounts * SAVE_S_PER_ACCOUNT


def read_pending(out: Path) -> set[str]:
    """Accounts a previous ``--apply`` could not send (empty if none).

    Raises
    ------
    InputError
        The file is damaged.
    """
    path = out / PENDING_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return set()
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{path}: unreadable ({exc}); restart the broker (it loads the whole "
            "file) and delete it"
        ) from None
    if not isinstance(doc, list) or not all(isinstance(x, str) for x in doc):
        raise InputError(f"{path}: not a list of account names; restart the broker and delete it")
    return set(doc)


def write_pending(out: Path, names: Iterable[str]) -> None:
    """Record the accounts still to send (removes the file when there are none)."""
    path = out / PENDING_FILE
    names = sorted(set(names))
    if not names:
        path.unlink(missing_ok=True)
        return
    with atomic_path(path, mode=0o600) as tmp:
        tmp.write_text(json.dumps(names) + "\n", encoding="utf-8")


def _batches(cmds: list[dict[str, Any]]) -> list[tuple[bytes, int]]:
    out: list[tuple[bytes, int]] = []
    batch: list[dict[str, Any]] = []
    size = 0
    for cmd in cmds:
        n = len(json.dumps(cmd)) + 1
        if batch and (size + n > MAX_BATCH_BYTES or len(batch) >= MAX_BATCH_COMMANDS):
            out.append((json.dumps({"commands": batch}).encode(), len(batch)))
            batch, size = [], 0
        batch.append(cmd)
        size += n
    if batch:
        out.append((json.dumps({"commands": batch}).encode(), len(batch)))
    return out


def push(
    url: str,
    ca_file: Path,
    password: str,
    cmds: list[dict[str, Any]],
    *,
    timeout_s: float = 60.0,
    progress: Callable[[int, int], None] | None = None,
) -> ApplyResult:
    """Send plugin commands to a running broker as the admin account and collect the answers.

    Parameters
    ----------
    url : str
        ``mqtts://host:port`` of the broker (``mqtt://`` for a plain listener).
    ca_file : pathlib.Path
        The CA that signed the broker's certificate.
    password : str
        The admin account's password.
    cmds : list of dict
    timeout_s : float
        Longest wait for the connection; for each answer, plus
        :data:`SECONDS_PER_COMMAND` per command of the message. [s]
    progress : callable, optional
        ``progress(commands_done, commands_total)`` after each answer.

    Returns
    -------
    ApplyResult
        ``errors`` lists the commands the plugin refused (one line each).

    Raises
    ------
    ServiceError
        The broker cannot be reached, refuses the account, or does not answer.
    ConfigError
        ``url`` is not an MQTT URL.
    """
    result = ApplyResult(commands=len(cmds))
    if not cmds:
        return result
    t0 = time.monotonic()
    cond = threading.Condition()
    answers: list[bytes] = []

    def on_message(msg: InboundMessage) -> None:
        with cond:
            answers.append(msg.payload)
            cond.notify_all()

    link = MqttLink(
        url,
        ADMIN_ACCOUNT,
        username=ADMIN_ACCOUNT,
        password=password,
        ca_file=str(ca_file),
        clean_start=True,
        session_expiry_s=0,
        on_message=on_message,
        subscriptions=[f"{CONTROL_TOPIC}/response"],
    )
    try:
        link.start(timeout_s=timeout_s)  # raises, naming the cause (TLS, refusal, no answer)
    except ServiceError as exc:
        raise ServiceError(f"--apply: {exc}") from None
    try:
        done = 0
        for payload, count in _batches(cmds):
            with cond:
                n = len(answers)
            link.publish(CONTROL_TOPIC, payload, qos=1)
            limit_s = timeout_s + SECONDS_PER_COMMAND * count

            def answered(n: int = n) -> bool:
                return len(answers) > n

            with cond:
                if not cond.wait_for(answered, timeout=limit_s):
                    raise ServiceError(
                        f"--apply {url}: no answer from the plugin within {limit_s:g} s"
                    )
                answer = answers[n]
            result.messages += 1
            try:
                replies = json.loads(answer).get("responses", [])
            except (ValueError, AttributeError):
                replies = []
            for reply in replies:
                error = reply.get("error") if isinstance(reply, dict) else None
                if error and not any(s in str(error).lower() for s in _IGNORED_ERRORS):
                    result.errors.append(f"{reply.get('command')}: {error}")
            done += count
            if progress is not None:
                progress(done, len(cmds))
    finally:
        link.stop(timeout_s=5)
    result.seconds = time.monotonic() - t0
    return result
