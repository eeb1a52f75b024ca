"""The broker's accounts and rules as mosquitto's dynamic-security plugin reads them (no I/O).

Why the plugin: mosquitto 2.0's ``acl_file`` is consulted on delivery only, so a plant could
subscribe to ``#`` (and receive nothing), and ``use_username_as_clientid`` silently replaces a
client id instead of refusing it. The dynamic-security plugin, shipped with mosquitto 2.0
(Debian: ``/usr/lib/<arch>/mosquitto_dynamic_security.so``; the eclipse-mosquitto image:
``/usr/lib/mosquitto_dynamic_security.so``), checks SUBSCRIBE against the rules (SUBACK 0x80 /
"not authorized") and binds every account to one client id (CONNACK "not authorized" for any
other id, so ids with ``+``, ``#`` or ``/`` are refused).

The document (``dynamic-security.json``):

- ``defaultACLAccess``: nothing is allowed unless a role allows it (unsubscribe excepted);
- one client per account: ``username`` = ``clientid`` = the plant id (or ``bridge``,
  ``bridge-2``, …, and the ``roshanai-admin`` account that applies changes to a running broker),
  the same PBKDF2-SHA512 hash as the password file (salt, hash, iterations);
- one role per plant, ``plant:<id>``: publish ``roshanai/v1/<id>/telemetry`` and
  ``/availability`` (its last will), and its gateways' topics (:func:`gateway_filters`):
  ``<opendtu prefix>/<serial>/#`` per inverter serial (OpenDTU's lower-case hexadecimal),
  ``<ahoy prefix>/<name>/#`` per AhoyDTU inverter name and ``<ahoy prefix>/<id>/#``;
  subscribe within ``roshanai/v1/<id>/`` only, and receive ``roshanai/v1/<id>/command`` only;
- a ``bridge`` role: subscribe (plainly or as ``$share/<group>/``) to and read the canonical
  tree and the DTU trees, publish the retained ``roshanai/v1/+/status`` topics;
- an ``admin`` role: the plugin's ``$CONTROL/dynamic-security/#`` topics, nothing else.

The plugin has no ``%u`` patterns, hence a role per plant. mosquitto's own file formats
(``passwd``, ``acl``) describe the same accounts and rules and are written beside it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from telemetry import topics
from telemetry.errors import ConfigError, InputError
from telemetry.registry import INVERTER_NAME_RE, SERIAL_RE

__all__ = [
    "ADMIN_ACCOUNT",
    "CONTROL_TOPIC",
    "DYNSEC_FILE",
    "PLUGIN_CANDIDATES",
    "client_entry",
    "document",
    "find_plugin",
    "gateway_filters",
    "hash_fields",
    "plant_role",
    "role_name",
]

DYNSEC_FILE = "dynamic-security.json"
ADMIN_ACCOUNT = "roshanai-admin"
"""Account that applies changes to a running broker (``$CONTROL``); it is no plant and no
bridge, so it is kept out of credentials.csv (``admin.env``)."""
CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
BRIDGE_ROLE = "bridge"
ADMIN_ROLE = "admin"

PLUGIN_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/arm-linux-gnueabihf/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
    "/usr/local/lib/mosquitto_dynamic_security.so",
)
IMAGE_PLUGIN = "/usr/lib/mosquitto_dynamic_security.so"
"""Where the eclipse-mosquitto container image has the plugin."""


def find_plugin(config_dir: str) -> str:
    """The plugin's path for a broker whose files live in ``config_dir``.

    ``/mosquitto/...`` is the eclipse-mosquitto image's layout (the compose stack); otherwise
    the first candidate present on this machine, else Debian's amd64 path.
    """
    if config_dir.startswith("/mosquitto/"):
        return IMAGE_PLUGIN
    for path in PLUGIN_CANDIDATES:
        if Path(path).is_file():
            return path
    return PLUGIN_CANDIDATES[0]


def hash_fields(encoded: str) -> dict[str, Any]:
    """A password-file hash ``$7$<iterations>$<salt>$<hash>`` as the plugin's client fields.

    Raises
    ------
    InputError
        Not a PBKDF2-SHA512 hash with a 12-byte salt and a 64-byte result.
    """
    parts = encoded.split("$")
    try:
        if len(parts) != 5 or parts[1] != "7":
            raise ValueError
        iterations = int(parts[2])
        salt, digest = (base64.b64decode(p, validate=True) for p in parts[3:5])
        if len(salt) != 12 or len(digest) != 64 or iterations < 1:
            raise ValueError
    except ValueError:
        raise InputError("a password hash is not mosquitto's $7$ PBKDF2-SHA512 format") from None
    return {"password": parts[4], "salt": parts[3], "iterations": iterations}


def role_name(username: str, *, bridge: bool = False) -> str:
    """The role an account has: ``plant:<id>``, ``bridge`` or ``admin``."""
    if username == ADMIN_ACCOUNT:
        return ADMIN_ROLE
    return BRIDGE_ROLE if bridge else f"plant:{username}"


def _acl(kind: str, topic: str, allow: bool = True) -> dict[str, Any]:
    return {"acltype": kind, "topic": topic, "priority": 0, "allow": allow}


def gateway_filters(
    plant_id: str,
    serials: Sequence[str],
    names: Sequence[str],
    *,
    opendtu_prefix: str,
    ahoy_prefix: str,
    own_id: bool = True,
) -> list[str]:
    """The topic filters a plant's DTU gateways publish under, each once.

    OpenDTU publishes ``<opendtu_prefix>/<serial>/...`` with the serial in lower-case
    hexadecimal; AhoyDTU publishes ``<ahoy_prefix>/<name>/...`` by the inverter's name, and an
    inverter named like its plant is taken for that plant (``own_id``).

    Parameters
    ----------
    plant_id : str
    serials : sequence of str
        Inverter serials in OpenDTU's topic form (``Fleet.gateway_inverters``).
    names : sequence of str
        AhoyDTU inverter names (inner spaces allowed).
    opendtu_prefix, ahoy_prefix : str
        Base topics; empty turns one off.
    own_id : bool
        Include ``<ahoy_prefix>/<plant_id>/#`` (the ACL file has it as a pattern instead).

    Raises
    ------
    ConfigError
        A serial or name that is not one topic level of the registry's vocabulary (it would
        reach beyond the plant's inverter, or break a line of the ACL file).
    """
    for kind, items, pattern in (
        ("inverter_serial", serials, SERIAL_RE),
        ("inverter_name", names, INVERTER_NAME_RE),
    ):
        for item in items:
            if not pattern.fullmatch(item):
                raise ConfigError(
                    f"{kind} {item!r} of plant {plant_id} is not one topic level "
                    "(see the fleet file's contract)"
                )
    out = [f"{opendtu_prefix}/{s}/#" for s in serials] if opendtu_prefix else []
    if ahoy_prefix:
        ahoy = [*names, plant_id] if own_id else [n for n in names if n != plant_id]
        out += [f"{ahoy_prefix}/{n}/#" for n in ahoy]
    return list(dict.fromkeys(out))


def plant_role(
    plant_id: str,
    serials: Sequence[str],
    names: Sequence[str],
    *,
    opendtu_prefix: str,
    ahoy_prefix: str,
) -> dict[str, Any]:
    """The role of one plant (see the module docstring)."""
    acls = [
        _acl("publishClientSend", topics.plant_topic(plant_id, topics.TELEMETRY)),
        _acl("publishClientSend", topics.plant_topic(plant_id, topics.AVAILABILITY)),
    ]
    # Each filter once: the plugin keeps a role's ACLs in a hash keyed by topic that does not
    # expect duplicates (an inverter may be named like its plant).
    acls += [
        _acl("publishClientSend", f)
        for f in gateway_filters(
            plant_id, serials, names, opendtu_prefix=opendtu_prefix, ahoy_prefix=ahoy_prefix
        )
    ]
    # It may subscribe within its own tree (a gateway asking for roshanai/v1/<id>/# gets its
    # commands) and nowhere else; it receives only its command topic.
    acls += [
        _acl("publishClientReceive", topics.plant_topic(plant_id, topics.COMMAND)),
        _acl("subscribePattern", topics.plant_tree(plant_id)),
    ]
    return {"rolename": role_name(plant_id), "acls": acls}


def _bridge_role(prefixes: Sequence[str]) -> dict[str, Any]:
    trees = [f"{topics.PLANT_ROOT}/#", *(f"{p}/#" for p in prefixes)]
    acls = []
    for tree in trees:
        acls += [
            _acl("subscribePattern", tree),
            _acl("subscribePattern", f"$share/+/{tree}"),
            _acl("publishClientReceive", tree),
        ]
    acls.append(_acl("publishClientSend", topics.plant_filter(topics.STATUS)))
    return {"rolename": BRIDGE_ROLE, "acls": acls}


def _admin_role() -> dict[str, Any]:
    return {
        "rolename": ADMIN_ROLE,
        "acls": [
            _acl("publishClientSend", f"{CONTROL_TOPIC}"),
            _acl("publishClientReceive", f"{CONTROL_TOPIC}/response"),
            _acl("subscribeLiteral", f"{CONTROL_TOPIC}/response"),
        ],
    }


def client_entry(username: str, encoded_hash: str, *, bridge: bool = False) -> dict[str, Any]:
    """One account: bound to the client id equal to its username."""
    return {
        "username": username,
        "clientid": username,
        **hash_fields(encoded_hash),
        "roles": [{"rolename": role_name(username, bridge=bridge)}],
    }


def document(
    hashes: Mapping[str, str],
    bridges: Sequence[str],
    inverters: Mapping[str, tuple[Sequence[str], Sequence[str]]],
    *,
    opendtu_prefix: str,
    ahoy_prefix: str,
) -> dict[str, Any]:
    """The plugin's whole configuration.

    Parameters
    ----------
    hashes : mapping
        username → ``$7$`` hash, for every account (plants, bridges, the admin).
    bridges : sequence of str
        The bridge accounts among them.
    inverters : mapping
        plant id → (its inverter serials in OpenDTU's topic form, its AhoyDTU inverter names),
        as ``Fleet.gateway_inverters`` gives them; plants without either may be left out.
    opendtu_prefix, ahoy_prefix : str
        DTU base topics; empty turns one off.

    Raises
    ------
    ConfigError
        A serial or name that cannot be one topic level.
    """
    bridge_set = set(bridges)
    prefixes = [p for p in (opendtu_prefix, ahoy_prefix) if p]
    clients, roles = [], []
    for username, encoded in hashes.items():
        bridge = username in bridge_set
        clients.append(client_entry(username, encoded, bridge=bridge))
        if not bridge and username != ADMIN_ACCOUNT:
            serials, names = inverters.get(username, ((), ()))
            roles.append(
                plant_role(
                    username, serials, names, opendtu_prefix=opendtu_prefix, ahoy_prefix=ahoy_prefix
                )
            )
    roles += [_bridge_role(prefixes), _admin_role()]
    return {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": clients,
        "groups": [],
        "roles": roles,
    }
