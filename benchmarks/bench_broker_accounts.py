"""What enforcing the accounts through mosquitto's dynamic-security plugin costs at fleet scale.

For a synthetic fleet of N plants, side by side in one run:

- ``roshanai deploy mosquitto`` (hashing N passwords, writing the files);
- the broker's start (until a plant's TLS login succeeds) and its memory, with the generated
  configuration (the plugin's ``dynamic-security.json``) and, as the reference, with mosquitto's
  classic ``password_file`` + ``acl_file`` of the same accounts;
- ``--apply`` of one revocation and of ten new plants to the running broker (the plugin saves
  its whole file after every command, which is the cost that grows with the fleet).

Usage::

    .venv/bin/python benchmarks/bench_broker_accounts.py --plants 100000
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_bridge.emulator import synthetic_fleet
from firmware_bridge.mqtt import MqttLink
from roshanai.deploy.broker import BrokerOptions
from roshanai.deploy.mosquitto import deploy_mosquitto
from roshanai.deploy.passwords import read_credentials
from telemetry.registry import Fleet
from tests.servers import Mosquitto, free_port


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start(
    conf: Path, workdir: Path, port: int, ca: Path, user: str, password: str
) -> tuple[Mosquitto, float]:
    """Start a broker and time it until ``user`` can log in over TLS."""
    server = Mosquitto(workdir, config_file=conf, port=port)
    server.start_timeout_s = 1800.0
    t0 = time.perf_counter()
    server.start()
    deadline = time.monotonic() + 1800
    while True:
        link = MqttLink(
            f"mqtts://127.0.0.1:{port}",
            user,
            username=user,
            password=password,
            ca_file=str(ca),
            clean_start=True,
        )
        try:
            link.start(timeout_s=5)
            link.stop()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    return server, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plants", type=int, default=100_000)
    args = ap.parse_args()
    console = Console()
    base = Path(tempfile.mkdtemp(prefix="bench-accounts-"))
    try:
        fleet = synthetic_fleet(args.plants, 7)
        port = free_port()
        out = base / "broker"
        data = base / "data"
        data.mkdir()
        opts = BrokerOptions(
            port=port, bind_address="127.0.0.1", config_dir=str(out), data_dir=str(data)
        )
        t0 = time.perf_counter()
        deploy_mosquitto(fleet, out, opts, tls_hostnames=["127.0.0.1"], key_type="ec")
        deploy_s = time.perf_counter() - t0
        creds = {a.username: a.password for a in read_credentials(out / "credentials.csv")}
        first = fleet.plant_ids[0]
        doc_mib = (out / "dynamic-security.json").stat().st_size / 2**20
        classic_mib = ((out / "passwd").stat().st_size + (out / "acl").stat().st_size) / 2**20

        conf = (out / "mosquitto.conf").read_text()
        classic = base / "classic.conf"
        lines = [x for x in conf.splitlines() if not x.startswith(("plugin", "persistence_loc"))]
        lines += [
            f"password_file {out}/passwd",
            f"acl_file {out}/acl",
            "use_username_as_clientid true",
            f"persistence_location {base}/classic-data/",
        ]
        (base / "classic-data").mkdir()
        classic.write_text("\n".join(lines) + "\n")

        rows = []
        for name, path in (
            ("classic passwd + acl (reference)", classic),
            ("dynamic-security plugin", out / "mosquitto.conf"),
        ):
            server, ready_s = start(
                path, base / f"run-{name[:7]}", port, out / "ca.crt", first, creds[first]
            )
            assert server.proc is not None
            rows.append((name, ready_s, rss_mib(server.proc.pid)))
            if name.startswith("dynamic"):
                t0 = time.perf_counter()
                r = deploy_mosquitto(
                    fleet,
                    out,
                    opts,
                    tls_hostnames=["127.0.0.1"],
                    key_type="ec",
                    revoke=[first],
                    apply_url=f"mqtts://127.0.0.1:{port}",
                )
                revoke = (time.perf_counter() - t0, r.applied)
                more = Fleet(synthetic_fleet(args.plants + 10, 7).plants, source="bench")
                t0 = time.perf_counter()
                r = deploy_mosquitto(
                    more,
                    out,
                    opts,
                    tls_hostnames=["127.0.0.1"],
                    key_type="ec",
                    apply_url=f"mqtts://127.0.0.1:{port}",
                )
                add = (time.perf_counter() - t0, r.applied)
            server.stop(timeout_s=60)

        t = Table(title=f"Broker accounts for {args.plants:,} plants")
        for col in ("broker configuration", "start to first login [s]", "RSS [MiB]"):
            t.add_column(col, justify="left" if col.startswith("broker") else "right")
        for name, ready_s, rss in rows:
            t.add_row(name, f"{ready_s:.2f}", f"{rss:.0f}")
        console.print(t)
        ratio = rows[1][1] / rows[0][1]
        console.print(
            f"start time, plugin / classic: {ratio:.1f}x; files: "
            f"dynamic-security.json {doc_mib:.1f} MiB, passwd + acl "
            f"{classic_mib:.1f} MiB; deploy (first run, {args.plants:,} hashes) "
            f"{deploy_s:.1f} s"
        )
        for label, (total, applied) in (("revoke 1 plant", revoke), ("add 10 plants", add)):
            assert applied is not None, label
            assert not applied.errors, applied.errors
            console.print(
                f"--apply {label}: {applied.commands} commands sent in "
                f"{applied.seconds:.2f} s (whole run {total:.1f} s)"
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
