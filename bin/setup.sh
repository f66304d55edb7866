# Shared set-up for bin/run and bin/test: an interpreter, system packages, a venv, Redis.
# Sourced, not run. Safe to repeat: each step checks before it acts.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Everything a run writes (database, keys, Redis files, reports) lives here.
export CANDOR_VAR_DIR=${CANDOR_VAR_DIR:-$ROOT/var}
VENV="$ROOT/.venv"
DEBIAN_PACKAGES=(redis-server chromium fonts-liberation poppler-utils postgresql)

say() { printf '\033[1m[candor]\033[0m %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

python_is_new_enough() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null
}

find_python() {
  local candidate
  for candidate in python3.13 python3.12 python3; do
    if command -v "$candidate" >/dev/null && python_is_new_enough "$candidate"; then
      command -v "$candidate"; return 0
    fi
  done
  local pyenv_root
  pyenv_root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  for candidate in "$pyenv_root"/versions/3.13*/bin/python3 "$pyenv_root"/versions/3.12*/bin/python3; do
    if [ -x "$candidate" ] && python_is_new_enough "$candidate"; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

ensure_debian_packages() {
  local missing=() package
  for package in "${DEBIAN_PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "Please install these Debian packages first: ${missing[*]}"
  say "installing ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || die "apt-get could not install ${missing[*]}"
}

ensure_venv() {
  local python stamp
  if [ ! -x "$VENV/bin/python" ] || ! python_is_new_enough "$VENV/bin/python"; then
    python=$(find_python) || die "Candor needs Python 3.12 or newer, and none was found \
(looked for python3.13, python3.12 and pyenv's versions)."
    say "creating a virtual environment with $python"
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
  fi
  stamp=$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)
  if [ "$(cat "$VENV/.requirements-sha" 2>/dev/null)" != "$stamp" ]; then
    say "installing Python packages"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/requirements.txt" \
      2> >(grep -v "is ignored: it is neither" >&2) || die "pip install failed"
    echo "$stamp" > "$VENV/.requirements-sha"
  fi
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_redis PORT DIR [keep]: a Redis on loopback, daemonized, its files in DIR.
# With "keep" it appends every write to DIR, so queued tasks survive a restart.
start_redis() {
  local port=$1 dir=$2 persistence=(--save '' --appendonly no)
  [ "${3:-}" = keep ] && persistence=(--save '' --appendonly yes)
  mkdir -p "$dir"
  if redis-cli -p "$port" ping >/dev/null 2>&1; then
    say "Redis already answers on port $port; using it"
    return 0
  fi
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" \
    "${persistence[@]}" >/dev/null || die "Redis did not start (see $dir/redis.log)"
  for _ in $(seq 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "Redis did not answer on port $port (see $dir/redis.log)"
}

stop_redis() {
  local dir=$1 pid
  [ -f "$dir/redis.pid" ] || return 0
  pid=$(cat "$dir/redis.pid")
  kill "$pid" 2>/dev/null || true
  # Wait for it to exit, so that nothing writes into DIR after we return.
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  rm -f "$dir/redis.pid"
}

postgres_bin() {
  local folder
  folder=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$folder" ] || die "no PostgreSQL server found (Debian package postgresql)"
  echo "$folder"
}

# as_postgres_owner DIR COMMAND...: PostgreSQL refuses to run as root, so root runs
# the server as the system user "postgres", which owns DIR.
as_postgres_owner() {
  local dir=$1
  shift
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$dir"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# start_postgres PORT DIR: a throwaway cluster in DIR on loopback, role and database
# "candor" without password; fsync is off because the data is thrown away.
start_postgres() {
  local port=$1 dir=$2 bin
  bin=$(postgres_bin)
  mkdir -p "$dir"
  as_postgres_owner "$dir" "$bin/initdb" -D "$dir/data" -U candor -A trust -E UTF8 \
    --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
    || die "initdb failed (see $dir/initdb.log)"
  as_postgres_owner "$dir" "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off" start >/dev/null \
    || die "PostgreSQL did not start (see $dir/postgres.log)"
  "$bin/createdb" -h 127.0.0.1 -p "$port" -U candor candor \
    || die "could not create the database candor on port $port"
}

stop_postgres() {
  local dir=$1
  [ -f "$dir/data/postmaster.pid" ] || return 0
  as_postgres_owner "$dir" "$(postgres_bin)/pg_ctl" -D "$dir/data" -m immediate -w \
    stop >/dev/null 2>&1 || true
}

ensure_secret_key() {
  local file="$CANDOR_VAR_DIR/secret_key"
  mkdir -p "$CANDOR_VAR_DIR"
  if [ ! -s "$file" ]; then
    "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))' > "$file"
    chmod 600 "$file"
  fi
  export DJANGO_SECRET_KEY
  DJANGO_SECRET_KEY=$(cat "$file")
}

# Fernet key that encrypts endpoint API keys at rest; losing it means re-entering keys.
ensure_encryption_key() {
  local file="$CANDOR_VAR_DIR/encryption_key"
  mkdir -p "$CANDOR_VAR_DIR"
  if [ ! -s "$file" ]; then
    (umask 077 && "$VENV/bin/python" -c \
      'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' > "$file")
    chmod 600 "$file"
  fi
  export CANDOR_ENCRYPTION_KEY
  CANDOR_ENCRYPTION_KEY=${CANDOR_ENCRYPTION_KEY:-$(cat "$file")}
}

setup_all() {
  ensure_debian_packages
  ensure_venv
  export PATH="$VENV/bin:$PATH"
  export CANDOR_CHROMIUM=${CANDOR_CHROMIUM:-$(command -v chromium)}
}
