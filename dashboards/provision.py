"""Grafana provisioning files: build them, write them (``roshanai dashboards export``).

Layout (a copy of ``dashboards/provisioning/`` is a valid ``/etc/grafana/provisioning``)::

    datasources/roshanai.yaml       the InfluxQL datasource (uid ``roshanai-influxql``)
    dashboards/roshanai.yaml        the file provider, reading dashboards/json/
    dashboards/json/*.json          the dashboards
    alerting/roshanai.yaml          the alert rules

The files in the repository take the datasource's URL, database and credentials from the
environment Grafana runs in (``$ROSHANAI_INFLUX_URL``, ``$ROSHANAI_INFLUX_DB``,
``$ROSHANAI_INFLUX_USERNAME``, ``$ROSHANAI_INFLUX_PASSWORD``): Grafana expands them when it
loads the file. ``export`` writes them filled from Roshanai's settings instead, with ``$``
escaped as ``$$`` (Grafana would expand it), and the datasource file mode 0600 when it holds a
secret. With a token (InfluxDB 2.x/3.x) the datasource sends ``Authorization: Token …`` and the
database is the DBRP-mapped name of the bucket (2.x) or the database (3.x).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dashboards.alerts import alert_provisioning
from dashboards.bridge_health import bridge_dashboard
from dashboards.panels import DATASOURCE_UID
from dashboards.program import program_dashboard
from dashboards.technician import fleet_dashboard, plant_dashboard
from telemetry.fileio import atomic_path

__all__ = [
    "DASHBOARD_FOLDER",
    "DEFAULT_GRAFANA_DIR",
    "REPO_PROVISIONING",
    "build_files",
    "dashboards",
    "datasource_provisioning",
    "private_files",
    "to_yaml",
    "write_files",
]

DASHBOARD_FOLDER = "Roshanai"
#: Where Grafana finds its provisioning (the official images' default).
DEFAULT_GRAFANA_DIR = "/etc/grafana/provisioning"
#: The provisioning kept in the repository (environment placeholders).
REPO_PROVISIONING = Path(__file__).resolve().parent / "provisioning"
#: Minimum interval of the datasource: the gateways' reading interval. [Grafana duration]
TIME_INTERVAL = "1m"

Json = dict[str, Any]


def dashboards() -> dict[str, Json]:
    """Every dashboard model by file name."""
    return {
        "roshanai-fleet.json": fleet_dashboard(),
        "roshanai-plant.json": plant_dashboard(),
        "roshanai-program.json": program_dashboard(),
        "roshanai-bridge.json": bridge_dashboard(),
    }


def _escape(value: str) -> str:
    return value.replace("$", "$$")


def datasource_provisioning(settings: Any | None = None) -> Json:
    """The datasource document: placeholders for Grafana's environment, or the settings'
    values (``settings`` = :class:`telemetry.settings.Settings`)."""
    ds: Json = {
        "name": "Roshanai InfluxDB",
        "uid": DATASOURCE_UID,
        "type": "influxdb",
        "access": "proxy",
        "isDefault": False,
        "editable": False,
        "version": 1,
        "jsonData": {"version": "InfluxQL", "httpMode": "POST", "timeInterval": TIME_INTERVAL},
    }
    secure: Json = {}
    if settings is None:
        ds["url"] = "${ROSHANAI_INFLUX_URL}"
        db = "${ROSHANAI_INFLUX_DB}"
        ds["user"] = "${ROSHANAI_INFLUX_USERNAME}"
        secure["password"] = "${ROSHANAI_INFLUX_PASSWORD}"
    else:
        from urllib.parse import unquote, urlsplit, urlunsplit

        url = settings.influx_url or "http://localhost:8086"
        parts = urlsplit(url)
        username, password = settings.influx_username, settings.influx_password
        if parts.username is not None:  # user:password@host in the URL: keep them apart
            username = username or unquote(parts.username)
            password = password if password is not None else unquote(parts.password or "")
            url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        ds["url"] = _escape(url.rstrip("/"))
        db = _escape(settings.influx_db)
        if settings.influx_token:
            ds["jsonData"]["httpHeaderName1"] = "Authorization"
            secure["httpHeaderValue1"] = _escape(f"Token {settings.influx_token}")
        elif username:
            ds["user"] = _escape(username)
            if password:
                secure["password"] = _escape(password)
    ds["database"] = db
    ds["jsonData"]["dbName"] = db
    if secure:
        ds["secureJsonData"] = secure
    return {"apiVersion": 1, "datasources": [ds]}


def dashboard_provider(grafana_dir: str = DEFAULT_GRAFANA_DIR) -> Json:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "roshanai",
                "orgId": 1,
                "folder": DASHBOARD_FOLDER,
                "folderUid": "roshanai",
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {
                    "path": f"{grafana_dir.rstrip('/')}/dashboards/json",
                    "foldersFromFilesStructure": False,
                },
            }
        ],
    }


# -- YAML ---------------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def to_yaml(obj: Any, indent: int = 0) -> str:
    """A small YAML writer for the provisioning documents (maps, lists, scalars)."""
    pad = " " * indent
    if isinstance(obj, dict):
        if not obj:
            return pad + "{}\n"
        out = []
        for key, value in obj.items():
            k = _scalar(str(key))
            if isinstance(value, dict | list) and value:
                out.append(f"{pad}{k}:\n{to_yaml(value, indent + 2)}")
            else:
                out.append(f"{pad}{k}: {_inline(value)}\n")
        return "".join(out)
    if isinstance(obj, list):
        if not obj:
            return pad + "[]\n"
        out = []
        for item in obj:
            if isinstance(item, dict | list) and item:
                body = to_yaml(item, indent + 2)
                out.append(f"{pad}- {body[indent + 2 :]}")
            else:
                out.append(f"{pad}- {_inline(item)}\n")
        return "".join(out)
    return pad + _scalar(obj) + "\n"


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


# -- files -----------------------------------------------------------------------------------


def build_files(
    settings: Any | None = None, grafana_dir: str = DEFAULT_GRAFANA_DIR
) -> dict[str, str]:
    """Every provisioning file's text by relative path (placeholders when no settings)."""
    head = "# Generated by `roshanai dashboards export`; Grafana provisioning (apiVersion 1).\n"
    files = {
        "datasources/roshanai.yaml": head + to_yaml(datasource_provisioning(settings)),
        "dashboards/roshanai.yaml": head + to_yaml(dashboard_provider(grafana_dir)),
        "alerting/roshanai.yaml": head + to_yaml(alert_provisioning()),
    }
    for name, model in dashboards().items():
        files[f"dashboards/json/{name}"] = json.dumps(model, indent=2, ensure_ascii=False) + "\n"
    return files


def write_files(
    out_dir: str | Path, files: dict[str, str], private: frozenset[str] | set[str] = frozenset()
) -> list[Path]:
    """Write the files atomically; those in ``private`` (holding secrets) with mode 0600,
    never readable by others even for an instant."""
    out = Path(out_dir)
    written = []
    for rel, text in files.items():
        path = out / rel
        with atomic_path(path, mode=0o600 if rel in private else 0o644) as tmp:
            tmp.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def private_files(settings: Any | None) -> set[str]:
    """The files of :func:`build_files` that carry a secret of these settings."""
    if settings is not None and (
        settings.influx_token or settings.influx_password or "@" in (settings.influx_url or "")
    ):
        return {"datasources/roshanai.yaml"}
    return set()
