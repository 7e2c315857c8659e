#!/usr/bin/env bash
# Makes sure PostgreSQL answers on 127.0.0.1:5432 for `make bench`: starts the
# installed cluster, or installs PostgreSQL from Debian's packages first (as root,
# like .ci/run does).
set -euo pipefail
host=${BENCH_PGHOST:-127.0.0.1}
port=${BENCH_PGPORT:-5432}

ready() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }

ready && exit 0
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "== installing PostgreSQL"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /etc/postgresql | sort -V | tail -n 1)
echo "== starting PostgreSQL $version"
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 30); do ready && break; sleep 1; done
ready || { echo "PostgreSQL did not start"; exit 1; }
# A fresh install trusts only the postgres OS user; give the role a password so
# the benchmark can connect over TCP.
su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null 2>&1 || true
