#!/bin/sh
# InfluxDB 2.x, first start only (the influxdb image runs /docker-entrypoint-initdb.d/* once,
# after its setup made the org, the bucket "roshanai" and the admin token):
# - rollup buckets and DBRP mappings, so InfluxQL (Grafana, reports, roshanai) finds
#   roshanai/autogen, roshanai/rollup_1h and roshanai/rollup_1d;
# - a read-only v1 authorization for Grafana (username grafana, password from the environment);
# - write tokens for the bridges, the rollup job and triage (which reads the raw bucket too),
#   handed over in the tokens volume (0600, owned by the roshanai image's user 10001), never
#   printed.
set -eu

org="${DOCKER_INFLUXDB_INIT_ORG:?}"
: "${ROSHANAI_GRAFANA_INFLUX_PASSWORD:?set GRAFANA_INFLUX_PASSWORD in deploy/.env}"
tokens=/run/roshanai-tokens

json_value() {  # json_value KEY: the first "KEY": "value" of the JSON on stdin
    sed -n "s/^[[:space:]]*\"$1\":[[:space:]]*\"\([^\"]*\)\".*/\1/p" | head -n 1
}

bucket_id() {
    influx bucket list --org "$org" --name "$1" --json | json_value id
}

raw=$(bucket_id roshanai)
influx bucket create --org "$org" --name roshanai_1h --retention 7665d >/dev/null
influx bucket create --org "$org" --name roshanai_1d --retention 7665d >/dev/null
h1=$(bucket_id roshanai_1h)
d1=$(bucket_id roshanai_1d)

influx v1 dbrp create --org "$org" --db roshanai --rp autogen --bucket-id "$raw" --default
influx v1 dbrp create --org "$org" --db roshanai --rp rollup_1h --bucket-id "$h1"
influx v1 dbrp create --org "$org" --db roshanai --rp rollup_1d --bucket-id "$d1"

influx v1 auth create --org "$org" --username grafana \
    --password "$ROSHANAI_GRAFANA_INFLUX_PASSWORD" \
    --read-bucket "$raw" --read-bucket "$h1" --read-bucket "$d1" >/dev/null

umask 077
influx auth create --org "$org" --description "roshanai bridges" --write-bucket "$raw" --json \
    | json_value token > "$tokens/bridge"
influx auth create --org "$org" --description "roshanai rollups" --read-bucket "$raw" \
    --read-bucket "$h1" --write-bucket "$h1" --read-bucket "$d1" --write-bucket "$d1" --json \
    | json_value token > "$tokens/rollups"
influx auth create --org "$org" --description "roshanai triage" --read-bucket "$raw" \
    --write-bucket "$raw" --json \
    | json_value token > "$tokens/triage"
for f in bridge rollups triage; do
    test -s "$tokens/$f" || { echo "roshanai.sh: no $f token was created" >&2; exit 1; }
done
chown 10001:10001 "$tokens/bridge" "$tokens/rollups" "$tokens/triage"
echo "roshanai: buckets, DBRP mappings, Grafana's read-only login and the writers' tokens made"
