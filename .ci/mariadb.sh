#!/usr/bin/env bash
# Throwaway MariaDB for the warehouse tests: own data directory under target/mariadb,
# 127.0.0.1:3307, no systemd. Usage:
#   eval "$(bash .ci/mariadb.sh start)"   # starts (or reuses) it and prints the export line
#   bash .ci/mariadb.sh stop              # stops it
# `start` prints only `export SKLADLINK_TEST_MARIADB='…'` on stdout; logs go to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${SKLADLINK_MARIADB_PORT:-3307}"
D="$PWD/target/mariadb"
SOCK="$D/run/mysqld.sock"
PIDFILE="$D/run/mysqld.pid"
TEST_USER=skladlink
TEST_PASS=skladlink-test

find_bin() {
  for name in "$@"; do
    for dir in /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin; do
      if [ -x "$dir/$name" ]; then echo "$dir/$name"; return 0; fi
    done
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  done
  echo "mariadb.sh: none of '$*' found; run: bash .ci/install-deps" >&2
  return 1
}

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

ping_ok() {
  "$ADMIN" --no-defaults --socket="$SOCK" -uroot ping >/dev/null 2>&1
}

print_export() {
  echo "export SKLADLINK_TEST_MARIADB='Driver={MariaDB Unicode};Server=127.0.0.1;Port=$PORT;User=$TEST_USER;Password=$TEST_PASS;CHARSET=utf8mb4'"
}

start() {
  INSTALL_DB=$(find_bin mariadb-install-db mysql_install_db)
  SERVER=$(find_bin mariadbd mysqld)
  ADMIN=$(find_bin mariadb-admin mysqladmin)
  CLIENT=$(find_bin mariadb mysql)
  mkdir -p "$D/data" "$D/run"
  if running && ping_ok; then
    echo "mariadb.sh: already running (pid $(cat "$PIDFILE"))" >&2
  elif "$ADMIN" --no-defaults -h127.0.0.1 -P"$PORT" -u"$TEST_USER" -p"$TEST_PASS" ping >/dev/null 2>&1; then
    # Started by this script from another checkout: reuse it.
    echo "mariadb.sh: a test server already answers on 127.0.0.1:$PORT; reusing it" >&2
    print_export
    return 0
  else
    if [ ! -d "$D/data/mysql" ]; then
      echo "mariadb.sh: initialising $D/data" >&2
      "$INSTALL_DB" --no-defaults --datadir="$D/data" --user="$(id -un)" \
        --auth-root-authentication-method=normal --skip-test-db >"$D/install.log" 2>&1 || {
        cat "$D/install.log" >&2; exit 1; }
    fi
    rm -f "$SOCK" "$PIDFILE"
    # setsid: the server must outlive this script and the shell that evals its output.
    setsid "$SERVER" --no-defaults --datadir="$D/data" --socket="$SOCK" --port="$PORT" \
      --bind-address=127.0.0.1 --user="$(id -un)" --pid-file="$PIDFILE" --skip-log-bin \
      --innodb-buffer-pool-size=128M --max-connections=500 \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
      >"$D/mysqld.log" 2>&1 < /dev/null &
    for _ in $(seq 1 300); do
      if ping_ok; then break; fi
      sleep 0.1
    done
    if ! ping_ok; then
      echo "mariadb.sh: server did not start; log follows" >&2
      tail -n 40 "$D/mysqld.log" >&2
      exit 1
    fi
    echo "mariadb.sh: started on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))" >&2
  fi
  "$CLIENT" --no-defaults --socket="$SOCK" -uroot -e "
    CREATE USER IF NOT EXISTS '$TEST_USER'@'127.0.0.1' IDENTIFIED BY '$TEST_PASS';
    CREATE USER IF NOT EXISTS '$TEST_USER'@'localhost' IDENTIFIED BY '$TEST_PASS';
    GRANT ALL PRIVILEGES ON *.* TO '$TEST_USER'@'127.0.0.1';
    GRANT ALL PRIVILEGES ON *.* TO '$TEST_USER'@'localhost';
    FLUSH PRIVILEGES;" >&2
  print_export
}

stop() {
  if running; then
    pid=$(cat "$PIDFILE")
    kill "$pid"
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    echo "mariadb.sh: stopped (pid $pid)" >&2
  else
    echo "mariadb.sh: not running" >&2
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
