#!/usr/bin/env bash
# The restore drill: back up a Cadenza deployment (database and object store), restore
# both into scratch targets, and check that the restored copy holds the same things:
# rows per table, objects and bytes, and every voting round's tally hash.
#
# Usage: scripts/restore-drill.sh [--config FILE] [--keep]
#   --config FILE  the deployment's configuration (default: $CADENZA_CONFIG, or ./cadenza.toml,
#                  or the embedded defaults); CADENZA__… variables apply as for the server
#   --keep         keep the backup and the restored copy (printed at the end)
# Environment: CADENZA_BIN (default: cadenza on PATH, else target/release or target/debug).
#
# PostgreSQL: pg_dump --format=custom, restored with pg_restore into a new database on the
# same server (cadenza_drill_<pid>, dropped afterwards). SQLite: an online copy with
# SQLite's backup API. Objects: `cadenza admin backup-objects`, restored into a local
# folder with `cadenza admin restore-objects`. Exit 0 when the censuses agree, 1 when
# they differ, 2 when the deployment changed while it was being backed up (run it in a
# quiet moment, or against a replica), 3 when a step failed.
set -euo pipefail

CONFIG=${CADENZA_CONFIG:-}
KEEP=false
while [ $# -gt 0 ]; do
  case "$1" in
    --config) CONFIG=$2; shift 2 ;;
    --keep) KEEP=true; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 3 ;;
  esac
done
[ -z "$CONFIG" ] && [ -f cadenza.toml ] && CONFIG=cadenza.toml

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${CADENZA_BIN:-}
if [ -z "$BIN" ]; then
  for b in "$(command -v cadenza || true)" "$ROOT/target/release/cadenza" "$ROOT/target/debug/cadenza"; do
    [ -n "$b" ] && [ -x "$b" ] && { BIN=$b; break; }
  done
fi
[ -n "$BIN" ] || { echo "no cadenza binary: build it or set CADENZA_BIN" >&2; exit 3; }

cadenza() { if [ -n "$CONFIG" ]; then "$BIN" --config "$CONFIG" "$@"; else "$BIN" "$@"; fi; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cadenza-drill.XXXXXX")
DRILL_DB=""
PG_ADMIN_URL=""
finish() {
  local rc=$?
  if [ "$KEEP" = true ]; then
    echo "kept: $WORK${DRILL_DB:+ and database $DRILL_DB}"
  else
    if [ -n "$DRILL_DB" ]; then
      psql "$PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS \"$DRILL_DB\"" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
  fi
  exit $rc
}
trap finish EXIT
fail() { echo "drill: $*" >&2; exit 3; }

# Where the database is: the same layers as the server (variable, file, default).
DB_URL=${CADENZA__DATABASE__URL:-}
DATA_DIR=${CADENZA__DATA_DIR:-}
if [ -n "$CONFIG" ]; then
  read -r FILE_URL FILE_DATA < <(python3 - "$CONFIG" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    c = tomllib.load(f)
print(c.get("database", {}).get("url", "-"), c.get("data_dir", "-"))
PY
) || fail "cannot read $CONFIG"
  [ -z "$DB_URL" ] && [ "$FILE_URL" != "-" ] && DB_URL=$FILE_URL
  [ -z "$DATA_DIR" ] && [ "$FILE_DATA" != "-" ] && DATA_DIR=$FILE_DATA
fi
DATA_DIR=${DATA_DIR:-data}
DB_URL=${DB_URL:-sqlite://$DATA_DIR/cadenza.db}

pg_tool() { # the newest installed version of a PostgreSQL client program
  local p; p=$(ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$p" ]; then echo "$p"; else command -v "$1" || fail "$1 is not installed"; fi
}

echo "1/5 census of the deployment"
cadenza admin census --json >"$WORK/before.json" || fail "census failed"

echo "2/5 backing up the database and the objects into $WORK"
case "$DB_URL" in
  postgres://*|postgresql://*)
    "$(pg_tool pg_dump)" --format=custom --no-owner --file "$WORK/db.dump" "$DB_URL" || fail "pg_dump failed"
    ;;
  sqlite://*)
    python3 - "${DB_URL#sqlite://}" "$WORK/db.sqlite" <<'PY' || fail "SQLite backup failed"
import sqlite3, sys
src = sqlite3.connect(sys.argv[1])
dst = sqlite3.connect(sys.argv[2])
src.backup(dst)
dst.close(); src.close()
PY
    ;;
  *) fail "unsupported database URL" ;;
esac
cadenza admin backup-objects "$WORK/objects" || fail "object backup failed"
cadenza admin census --json >"$WORK/after.json" || fail "census failed"
if ! cmp -s "$WORK/before.json" "$WORK/after.json"; then
  echo "drill: the deployment changed while it was being backed up; run the drill in a quiet moment or against a replica" >&2
  exit 2
fi

echo "3/5 restoring the database into a scratch copy"
case "$DB_URL" in
  postgres://*|postgresql://*)
    DRILL_DB="cadenza_drill_$$"
    base=${DB_URL%%\?*}
    PG_ADMIN_URL="${base%/*}/postgres"
    psql "$PG_ADMIN_URL" -q -c "CREATE DATABASE \"$DRILL_DB\"" >/dev/null || fail "cannot create $DRILL_DB"
    RESTORED_URL="${base%/*}/$DRILL_DB"
    "$(pg_tool pg_restore)" --no-owner --exit-on-error -d "$RESTORED_URL" "$WORK/db.dump" || fail "pg_restore failed"
    ;;
  sqlite://*)
    cp "$WORK/db.sqlite" "$WORK/restored.db"
    RESTORED_URL="sqlite://$WORK/restored.db"
    ;;
esac

echo "4/5 restoring the objects into a scratch folder"
export CADENZA__DATABASE__URL="$RESTORED_URL"
export CADENZA__STORAGE__BACKEND=local
export CADENZA__STORAGE__LOCAL_ROOT="$WORK/restored-objects"
cadenza admin restore-objects "$WORK/objects" || fail "object restore failed"

echo "5/5 census of the restored copy"
if cadenza admin census --compare "$WORK/before.json" >"$WORK/restored.txt"; then
  echo "restore drill passed: the restored copy matches the deployment"
  exit 0
fi
echo "restore drill FAILED: the restored copy differs (see above)" >&2
exit 1
