#!/usr/bin/env bash
# A real single-node Apache Cassandra 5.0 on loopback, from Maven Central jars, for tests.
#
#   scripts/cassandra.sh fetch
#       Copy cassandra-all and its runtime dependencies (tools/cassandra/pom.xml) into
#       .cassandra/lib. Skipped when the jars there were fetched from the same pom.
#   scripts/cassandra.sh start --dir DIR --port CQL_PORT [--storage-port PORT] [--owner-pid PID]
#                              [--address ADDR] [--seeds ADDR:PORT,...] [--token TOKEN]
#       Fetch if needed, write DIR/cassandra.yaml, start the node in the background (own
#       session; pid in DIR/pid, log in DIR/system.log) and wait until a CQL query works.
#       Storage port default 7010. With --owner-pid, a watchdog stops the node once PID exits.
#       A cluster on one machine: one node per loopback address (127.0.0.1, .2, .3), same
#       ports, each with --seeds naming all of them and its own --token (default: a lone node
#       at 127.0.0.1, its own seed, token 0). local_stack/launch/cassandra.py starts three.
#   scripts/cassandra.sh stop --dir DIR      SIGTERM, then SIGKILL after 30 s; idempotent.
#   scripts/cassandra.sh status --dir DIR    exit 0 if running, 3 if not.
#
# Environment:
#   CASSANDRA_START_TIMEOUT  seconds `start` waits for CQL (default 180)
#   CASSANDRA_HEAP           -Xmx of the node (default 768m)
#   CASSANDRA_HEAP_INITIAL   -Xms of the node (default 256m; must not exceed CASSANDRA_HEAP)
#   CASSANDRA_JVM_OPTS       extra JVM options, appended last (whitespace-separated)
#   CASSANDRA_JAVA           java binary to use (default: a Java 17, then 11, found on the machine)
#   CASSANDRA_PYTHON         python with cassandra-driver (default: .venv/bin/python)
#   CASSANDRA_LIB_DIR        where the jars go (default: .cassandra/lib)
#   MVN                      maven command (default: mvn)
#   CASSANDRA_MVN_ARGS       extra maven arguments for fetch (e.g. -o, -s settings.xml)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/tools/cassandra"
POM="$TOOLS/pom.xml"
LIB_DIR="${CASSANDRA_LIB_DIR:-$ROOT/.cassandra/lib}"
DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
# Bump when the way jars are fetched changes, so existing lib dirs are refreshed.
FETCH_SCHEME=1
DEFAULT_STORAGE_PORT=7010
START_TIMEOUT="${CASSANDRA_START_TIMEOUT:-180}"
STOP_TIMEOUT=30
HEAP="${CASSANDRA_HEAP:-768m}"
HEAP_INITIAL="${CASSANDRA_HEAP_INITIAL:-256m}"  # below -Xmx: the RSS stays ~0.65 GB, not ~1.2 GB

log() { printf '[cassandra.sh] %s\n' "$*"; }
die() { printf '[cassandra.sh] error: %s\n' "$*" >&2; exit 1; }

usage() {
    awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "${BASH_SOURCE[0]}"
    exit 2
}

# ---------------------------------------------------------------------------------------- fetch

pom_stamp() {
    local sum
    sum="$(sha256sum "$POM" | cut -d' ' -f1)"
    printf 'pom-sha256=%s scheme=%s\n' "$sum" "$FETCH_SCHEME"
}

lib_is_current() {
    [[ -f "$LIB_DIR/.stamp" ]] && [[ "$(cat "$LIB_DIR/.stamp")" == "$(pom_stamp)" ]]
}

cmd_fetch() {
    if lib_is_current; then
        log "jars already in $LIB_DIR ($(pom_stamp | cut -c1-22)...), nothing to fetch"
        return 0
    fi
    local mvn="${MVN:-mvn}"
    command -v "$mvn" >/dev/null 2>&1 || die "'$mvn' not found: Maven is needed to fetch the jars"
    local parent
    parent="$(dirname "$LIB_DIR")"
    mkdir -p "$parent"
    # Serialise concurrent fetches (e.g. two test sessions starting at once).
    exec {lock_fd}>"$parent/.fetch.lock"
    if command -v flock >/dev/null 2>&1 && ! flock -n "$lock_fd"; then
        log "another fetch is running; waiting for $parent/.fetch.lock"
        flock "$lock_fd"
    fi
    if lib_is_current; then
        log "jars were fetched into $LIB_DIR meanwhile"
        exec {lock_fd}>&-
        return 0
    fi
    local tmp="$LIB_DIR.tmp.$$"
    rm -rf "$LIB_DIR".tmp.*  # left by interrupted fetches (we hold the lock)
    log "fetching Cassandra jars from Maven ($POM) into $LIB_DIR; the first run downloads ~70 MB"
    local t0=$SECONDS
    # -q: Maven prints only problems; sed drops the stray ANSI resets its console library emits.
    if ! "$mvn" -B -q -ntp -Dstyle.color=never -f "$POM" "$DEPENDENCY_PLUGIN:copy-dependencies" \
            -DincludeScope=runtime -DoutputDirectory="$tmp" ${CASSANDRA_MVN_ARGS:-} 2>&1 \
            | sed -u $'s/\x1b\\[[0-9;]*m//g'; then
        rm -rf "$tmp"
        die "maven could not fetch the Cassandra jars (see its output above)"
    fi
    [[ -n "$(compgen -G "$tmp/cassandra-all-*.jar")" ]] || { rm -rf "$tmp"; die "no cassandra-all jar fetched"; }
    pom_stamp >"$tmp/.stamp"
    rm -rf "$LIB_DIR"
    mv "$tmp" "$LIB_DIR"
    exec {lock_fd}>&-
    log "fetched $(find "$LIB_DIR" -name '*.jar' | wc -l) jars ($(du -sh "$LIB_DIR" | cut -f1)) in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------------------------------- helpers

java_major() {  # prints the major version of the java binary $1
    "$1" -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit}'
}

find_java() {
    # Cassandra 5.0 runs on Java 11 or 17 only (Java 24+ cannot work: SecurityManager is gone).
    local candidates=()
    [[ -n "${CASSANDRA_JAVA:-}" ]] && candidates+=("$CASSANDRA_JAVA")
    [[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME/bin/java")
    local j
    for j in /usr/lib/jvm/java-17-openjdk-*/bin/java /usr/lib/jvm/*17*/bin/java \
             /usr/lib/jvm/java-11-openjdk-*/bin/java /usr/lib/jvm/*11*/bin/java; do
        [[ -x "$j" ]] && candidates+=("$j")
    done
    command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
    for j in "${candidates[@]}"; do
        [[ -x "$j" ]] || continue
        case "$(java_major "$j")" in
            17|11) printf '%s\n' "$j"; return 0 ;;
        esac
        if [[ -n "${CASSANDRA_JAVA:-}" && "$j" == "$CASSANDRA_JAVA" ]]; then
            die "CASSANDRA_JAVA=$j is Java $(java_major "$j"); Cassandra 5.0 needs Java 11 or 17"
        fi
    done
    die "no Java 17 (or 11) found; Cassandra 5.0 needs one (set CASSANDRA_JAVA)"
}

find_python() {
    local p
    for p in "${CASSANDRA_PYTHON:-}" "$ROOT/.venv/bin/python" python3; do
        [[ -n "$p" ]] || continue
        if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import cassandra.cluster' >/dev/null 2>&1; then
            printf '%s\n' "$p"
            return 0
        fi
    done
    die "no python with cassandra-driver found (set CASSANDRA_PYTHON)"
}

alive() {  # true if pid $1 exists and is not a zombie
    kill -0 "$1" 2>/dev/null || return 1
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
    [[ "$state" != Z ]]
}

port_open() {  # true if something accepts TCP connections on $ADDRESS:$1
    (exec 3<>"/dev/tcp/$ADDRESS/$1") 2>/dev/null
}

is_our_node() {  # true if pid $1 is alive and is the CassandraDaemon of run dir $2
    local pid="$1" dir="$2"
    [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" || return 1
    local cmdline
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *CassandraDaemon* && "$cmdline" == *"file://$dir/cassandra.yaml"* ]]
}

running_pid() {  # prints the pid of the node of run dir $1 if it is running
    local dir="$1" pid
    [[ -f "$dir/pid" ]] || return 1
    pid="$(cat "$dir/pid")"
    is_our_node "$pid" "$dir" || return 1
    printf '%s\n' "$pid"
}

cql_query() {  # true if `SELECT release_version FROM system.local` works on $ADDRESS:$1
    "$PYTHON" - "$ADDRESS" "$1" <<'PY' 2>/dev/null
import logging
import sys

logging.disable(logging.CRITICAL)
from cassandra.cluster import Cluster  # noqa: E402

cluster = Cluster([sys.argv[1]], port=int(sys.argv[2]), connect_timeout=5)
try:
    session = cluster.connect()
    row = session.execute("SELECT release_version FROM system.local", timeout=10).one()
    print(row.release_version)
finally:
    cluster.shutdown()
PY
}

dump_log() {
    local dir="$1"
    if [[ -f "$dir/system.log" ]]; then
        printf '[cassandra.sh] ----- last 50 lines of %s -----\n' "$dir/system.log" >&2
        tail -n 50 "$dir/system.log" >&2
        printf '[cassandra.sh] ----- end of log -----\n' >&2
    fi
}

parse_args() {  # sets DIR, CQL_PORT, STORAGE_PORT, ADDRESS, SEEDS, TOKEN from the options
    DIR="" CQL_PORT="" STORAGE_PORT="$DEFAULT_STORAGE_PORT" OWNER_PID=""
    ADDRESS="127.0.0.1" SEEDS="" TOKEN="0"
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --address) ADDRESS="${2:?--address needs a value}"; shift 2 ;;
            --seeds) SEEDS="${2:?--seeds needs a value}"; shift 2 ;;
            --token) TOKEN="${2:?--token needs a value}"; shift 2 ;;
            --dir) DIR="${2:?--dir needs a value}"; shift 2 ;;
            --port) CQL_PORT="${2:?--port needs a value}"; shift 2 ;;
            --storage-port) STORAGE_PORT="${2:?--storage-port needs a value}"; shift 2 ;;
            --owner-pid) OWNER_PID="${2:?--owner-pid needs a value}"; shift 2 ;;
            -h|--help) usage ;;
            *) die "unknown option: $1" ;;
        esac
    done
    [[ -n "$DIR" ]] || die "--dir is required"
    [[ "$DIR" == /* ]] || DIR="$PWD/$DIR"
    [[ ! -d "$DIR" ]] || DIR="$(cd "$DIR" && pwd -P)"
    [[ "$DIR" != *[\"\\\ \']* ]] || die "--dir must not contain quotes, backslashes or spaces: $DIR"
    # Loopback only: the test cluster has no authentication.
    [[ "$ADDRESS" =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] ||
        die "--address must be a loopback IPv4 address (127.x.y.z): $ADDRESS"
    [[ -n "$SEEDS" ]] || SEEDS="$ADDRESS:$STORAGE_PORT"
    [[ "$SEEDS" =~ ^[0-9.:,]+$ ]] || die "bad --seeds: $SEEDS"
    [[ "$TOKEN" =~ ^-?[0-9]+$ ]] || die "bad --token: $TOKEN"
}

valid_port() { [[ "$1" =~ ^[0-9]+$ ]] && (( $1 > 0 && $1 < 65536 )); }

# ---------------------------------------------------------------------------------------- start

wait_ready() {  # wait until the node of $DIR answers CQL on $CQL_PORT, or fail
    local pid="$1" deadline=$((SECONDS + START_TIMEOUT)) version
    while (( SECONDS < deadline )); do
        if ! is_our_node "$pid" "$DIR"; then
            dump_log "$DIR"
            rm -f "$DIR/pid"
            die "the Cassandra node (pid $pid) died during startup"
        fi
        if port_open "$CQL_PORT" && version="$(cql_query "$CQL_PORT")"; then
            log "ready: Cassandra $version on $ADDRESS:$CQL_PORT (pid $pid, $((SECONDS - START_T0)) s)"
            return 0
        fi
        sleep 0.5
    done
    dump_log "$DIR"
    log "stopping the node that did not become ready"
    stop_node "$DIR" || true
    die "Cassandra did not answer CQL on $ADDRESS:$CQL_PORT within ${START_TIMEOUT} s"
}

# A CA and a certificate for the node's address in a PKCS12 keystore, made once per run directory, so
# the node also speaks TLS on its CQL port (optional there: plaintext clients still work).
make_tls() {
    local tls="$1"
    [[ -f "$tls/node.p12" ]] && return 0
    mkdir -p "$tls"
    chmod 700 "$tls"
    openssl rand -hex 16 >"$tls/password"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=chatstack test CA" \
        -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$ADDRESS" \
        -keyout "$tls/node.key" -out "$tls/node.csr" 2>/dev/null
    printf 'subjectAltName=IP:%s,DNS:localhost\n' "$ADDRESS" >"$tls/san.ext"
    openssl x509 -req -days 3650 -in "$tls/node.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
        -CAcreateserial -extfile "$tls/san.ext" -out "$tls/node.pem" 2>/dev/null
    openssl pkcs12 -export -in "$tls/node.pem" -inkey "$tls/node.key" -name node \
        -passout "file:$tls/password" -out "$tls/node.p12"
}

cmd_start() {
    parse_args "$@"
    [[ -n "$CQL_PORT" ]] || die "--port is required"
    valid_port "$CQL_PORT" || die "bad --port: $CQL_PORT"
    valid_port "$STORAGE_PORT" || die "bad --storage-port: $STORAGE_PORT"
    [[ "$CQL_PORT" != "$STORAGE_PORT" ]] || die "--port and --storage-port must differ"
    [[ "$START_TIMEOUT" =~ ^[0-9]+$ ]] || die "bad CASSANDRA_START_TIMEOUT: $START_TIMEOUT"
    [[ -z "$OWNER_PID" || "$OWNER_PID" =~ ^[0-9]+$ ]] || die "bad --owner-pid: $OWNER_PID"
    START_T0=$SECONDS
    PYTHON="$(find_python)"
    mkdir -p "$DIR"
    DIR="$(cd "$DIR" && pwd -P)"

    local pid
    if pid="$(running_pid "$DIR")"; then
        local running_port running_address
        running_port="$(awk '/^native_transport_port:/ {print $2}' "$DIR/cassandra.yaml")"
        running_address="$(awk '/^rpc_address:/ {print $2}' "$DIR/cassandra.yaml")"
        [[ "$running_address" == "$ADDRESS" ]] ||
            die "a node already runs in $DIR at $running_address, not $ADDRESS"
        [[ "$running_port" == "$CQL_PORT" ]] ||
            die "a node already runs in $DIR with CQL port $running_port, not $CQL_PORT"
        log "a node is already running in $DIR (pid $pid); waiting for CQL on $CQL_PORT"
        wait_ready "$pid"
        return 0
    fi
    rm -f "$DIR/pid"

    local port
    for port in "$CQL_PORT" "$STORAGE_PORT"; do
        ! port_open "$port" || die "port $ADDRESS:$port is already in use"
    done

    cmd_fetch
    local java
    java="$(find_java)"

    make_tls "$DIR/tls"
    local template yaml
    template="$(<"$TOOLS/cassandra.yaml.template")"
    yaml="${template//@RUN_DIR@/"$DIR"}"
    yaml="${yaml//@CQL_PORT@/"$CQL_PORT"}"
    yaml="${yaml//@STORAGE_PORT@/"$STORAGE_PORT"}"
    yaml="${yaml//@ADDRESS@/"$ADDRESS"}"
    yaml="${yaml//@SEEDS@/"$SEEDS"}"
    yaml="${yaml//@TOKEN@/"$TOKEN"}"
    # A cluster's node: Cassandra's default write timeout, so a coordinator gives up on a dead
    # node's batchlog well within the chat service's 5 s store deadline (docs/cluster.md).
    local write_timeout=5000ms
    [[ "$SEEDS" != *,* ]] || write_timeout=2000ms
    yaml="${yaml//@WRITE_TIMEOUT@/"$write_timeout"}"
    yaml="${yaml//@TLS_PASSWORD@/"$(<"$DIR/tls/password")"}"
    printf '%s\n' "$yaml" >"$DIR/cassandra.yaml"
    mkdir -p "$DIR"/{data,commitlog,saved_caches,hints,cdc_raw,triggers}

    local jamm
    jamm="$(compgen -G "$LIB_DIR/jamm-*.jar" | head -n 1)" || die "no jamm jar in $LIB_DIR"

    local jvm_opts=(
        "-Xms$HEAP_INITIAL" "-Xmx$HEAP" -Xss256k -XX:MaxDirectMemorySize=256m
        -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1
        -XX:+UseThreadPriorities -XX:+UseTLAB -XX:+ResizeTLAB -XX:+PerfDisableSharedMem
        -XX:+ExitOnOutOfMemoryError
        "-XX:ErrorFile=$DIR/hs_err_%p.log"
        "-javaagent:$jamm"
        # JPMS: the union of 5.0's conf/jvm17-server.options, the JDK17 extras of
        # bin/cassandra.in.sh (CASSANDRA-19001) and what cassandra-unit 5.x adds.
        -Djdk.attach.allowAttachSelf=true
        --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
        --add-exports java.base/java.lang.ref=ALL-UNNAMED
        --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
        --add-exports java.management/com.sun.jmx.remote.security=ALL-UNNAMED
        --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
        --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
        --add-exports java.sql/java.sql=ALL-UNNAMED
        --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
        --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
        --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
        --add-opens java.base/java.lang.module=ALL-UNNAMED
        --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
        --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
        --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
        --add-opens java.base/jdk.internal.math=ALL-UNNAMED
        --add-opens java.base/jdk.internal.module=ALL-UNNAMED
        --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
        --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
        --add-opens java.base/sun.nio.ch=ALL-UNNAMED
        --add-opens java.base/java.io=ALL-UNNAMED
        --add-opens java.base/java.lang=ALL-UNNAMED
        --add-opens java.base/java.lang.reflect=ALL-UNNAMED
        --add-opens java.base/java.util=ALL-UNNAMED
        --add-opens java.base/java.nio=ALL-UNNAMED
        --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
        -Dio.netty.tryReflectionSetAccessible=true
        -Dio.netty.allocator.useCacheForAllThreads=true
        -Dio.netty.allocator.maxOrder=11
        # The node itself.
        -Djava.net.preferIPv4Stack=true
        -Dcassandra-foreground=yes
        "-Dcassandra.config=file://$DIR/cassandra.yaml"
        "-Dcassandra.storagedir=$DIR"
        "-Dcassandra.logdir=$DIR"
        "-Dcassandra.triggers_dir=$DIR/triggers"
        "-Dlogback.configurationFile=file://$TOOLS/logback.xml"
        # Test-only speed-ups: no gossip settling wait, no fsync (a killed process loses
        # nothing: its writes are in the page cache; a machine crash would).
        -Dcassandra.skip_wait_for_gossip_to_settle=0
        -Dcassandra.skip_sync=true
        # Faster stop for a lone node: no 2 s shutdown announcement, no messaging quiesce wait.
        -Dcassandra.shutdown_announce_in_ms=0
        -Dcassandra.test.messagingService.nonGracefulShutdown=true
        -Dchronicle.announcer.disable=true
    )
    if [[ "$SEEDS" != *,* ]]; then
        # A lone node: no ring state to load, and system tables and schema changes kept in
        # memory only. A cluster's node must keep both across a SIGKILL (the chaos test).
        jvm_opts+=(
            -Dcassandra.load_ring_state=false
            -Dcassandra.unsafesystem=true
            -Dcassandra.test.flush_local_schema_changes=false
        )
    fi
    # Extra JVM options last, so they can override the ones above.
    local extra_opts=()
    read -r -a extra_opts <<<"${CASSANDRA_JVM_OPTS:-}"
    jvm_opts+=("${extra_opts[@]}")
    # JMX stays off: neither cassandra.jmx.local.port nor com.sun.management.jmxremote.port is set.

    log "starting Cassandra ($java, heap $HEAP_INITIAL..$HEAP) in $DIR: CQL $ADDRESS:$CQL_PORT, storage $STORAGE_PORT, seeds $SEEDS"
    : >"$DIR/system.log"
    # setsid: own session and process group, so the node outlives this script and ^C of the
    # caller; the inner shell records its pid, then becomes java (exec keeps the pid).
    setsid bash -c 'echo $$ >"$1/pid"; shift; exec "$@"' _ "$DIR" \
        "$java" "${jvm_opts[@]}" -cp "$LIB_DIR/*" \
        org.apache.cassandra.service.CassandraDaemon \
        </dev/null >>"$DIR/system.log" 2>&1 &
    local deadline=$((SECONDS + 10))
    while [[ ! -s "$DIR/pid" ]] && (( SECONDS < deadline )); do sleep 0.1; done
    [[ -s "$DIR/pid" ]] || die "the node did not record its pid in $DIR/pid"
    pid="$(cat "$DIR/pid")"
    # Wait for the exec to replace the shell before checking the command line.
    deadline=$((SECONDS + 10))
    while alive "$pid" && ! is_our_node "$pid" "$DIR" && (( SECONDS < deadline )); do
        sleep 0.1
    done
    [[ -z "$OWNER_PID" ]] || start_watchdog "$pid"
    wait_ready "$pid"
}

start_watchdog() {  # stop node $1 once $OWNER_PID is gone, even if the owner was SIGKILLed
    log "watchdog: the node stops when pid $OWNER_PID exits"
    setsid "$ROOT/scripts/cassandra.sh" _watchdog "$OWNER_PID" "$1" "$DIR" \
        </dev/null >>"$DIR/watchdog.log" 2>&1 &
}

cmd_watchdog() {  # internal: _watchdog OWNER_PID NODE_PID DIR
    local owner="$1" node="$2" dir="$3"
    while alive "$owner" && alive "$node"; do sleep 2; done
    if is_our_node "$node" "$dir"; then
        log "watchdog: owner $owner is gone, stopping the node"
        stop_node "$dir"
    fi
}

# ---------------------------------------------------------------------------------------- stop

stop_node() {  # stop the node of run dir $1; true if it is not running afterwards
    local dir="$1" pid
    if ! pid="$(running_pid "$dir")"; then
        rm -f "$dir/pid"
        log "no node running in $dir"
        return 0
    fi
    log "stopping Cassandra (pid $pid) in $dir"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while alive "$pid" && (( SECONDS < deadline )); do sleep 0.2; done
    if alive "$pid"; then
        log "still alive after ${STOP_TIMEOUT} s: SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 10))
        while alive "$pid" && (( SECONDS < deadline )); do sleep 0.2; done
    fi
    if alive "$pid"; then
        log "pid $pid is still alive"
        return 1
    fi
    rm -f "$dir/pid"
    log "stopped"
}

cmd_stop() {
    parse_args "$@"
    stop_node "$DIR"
}

cmd_status() {
    parse_args "$@"
    local pid
    if pid="$(running_pid "$DIR")"; then
        local port
        port="$(awk '/^native_transport_port:/ {print $2}' "$DIR/cassandra.yaml" 2>/dev/null || true)"
        ADDRESS="$(awk '/^rpc_address:/ {print $2}' "$DIR/cassandra.yaml" 2>/dev/null || true)"
        if [[ -n "$port" ]] && port_open "$port"; then
            log "running: pid $pid, CQL on $ADDRESS:$port"
        else
            log "running: pid $pid, CQL port ${port:-?} not open (yet)"
        fi
        return 0
    fi
    log "not running ($DIR)"
    return 3
}

# ---------------------------------------------------------------------------------------- main

[[ $# -ge 1 ]] || usage
command="$1"
shift
case "$command" in
    fetch) cmd_fetch ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    _watchdog) cmd_watchdog "$@" ;;
    -h|--help|help) usage ;;
    *) die "unknown command: $command" ;;
esac
