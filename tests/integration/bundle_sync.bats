#!/usr/bin/env bats
# Signed policy bundles (format 2: the compiled decision index, zstd) end
# to end: `patchgate bundle build/sign`, a real nginx serving them over TLS
# from a CA made here with openssl, and `patchgate sync` / `patchgate
# activate` into a host that has no policy database, only the activated
# index, which the real hook (alone and under real runc) and `patchgate
# check` then decide by.  Every refusal must leave the active index
# byte-identical, print and syslog the reason (private rsyslogd from
# tests/lib.sh), and keep decisions unchanged.

load helpers

# --- file set-up: TLS, keys, bundles, nginx, misbehaving listeners --------

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

make_tls() {
  local d=$1
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$d/ca.key" -out "$d/ca.crt" -subj "/CN=patchgate test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=127.0.0.1" 2>/dev/null &&
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/ext.cnf" &&
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
      -extfile "$d/ext.cnf" -out "$d/server.crt" 2>/dev/null
}

# pb_build NAME SERIAL POLICY-VERSION [REPORT...] : an admin database with the
# reports and the policy, bundled as $PB_DIR/NAME.bundle (not yet signed).
# PB_CREATED (RFC 3339), when set, is the bundle's creation time.
pb_build() {
  local name=$1 serial=$2 version=$3 db
  shift 3
  db=$PB_DIR/$name.db
  pg_policy ".version = \"$version\"" >"$PB_DIR/$name.policy.json"
  pg_make_db "$db" "$PB_DIR/$name.policy.json" "$@" || return 1
  if [ -n "${PB_CREATED:-}" ]; then
    PATCHGATE_NOW=$PB_CREATED "$PG_CLI" bundle build -o "$PB_DIR/$name.bundle" --db "$db" --serial "$serial" >/dev/null
  else
    "$PG_CLI" bundle build -o "$PB_DIR/$name.bundle" --db "$db" --serial "$serial" >/dev/null
  fi
}

# pb_publish NAME DIR [KEY] : copy the bundle to the web root as
# DIR/policy.bundle with its signature (made with KEY, default key A).
pb_publish() {
  local name=$1 dir=$WWW/$2 key=${3:-$KEYS/a.pem}
  mkdir -p "$dir"
  cp "$PB_DIR/$name.bundle" "$dir/policy.bundle"
  "$PG_CLI" bundle sign --key "$key" "$dir/policy.bundle" >/dev/null
}

# pb_forge NAME DIR PAYLOAD-COMMAND : publish bundle NAME as DIR/policy.bundle
# with its payload replaced by PAYLOAD-COMMAND's output ($PAYLOAD is the
# original payload), the manifest's payload size and SHA-256 made to match,
# signed with key A: only the checks after the signature can refuse it.
pb_forge() {
  local name=$1 dir=$WWW/$2 cmd=$3 t=$PB_DIR/forge-$2
  mkdir -p "$dir" "$t"
  head -n 2 "$PB_DIR/$name.bundle" | tail -n 1 >"$t/manifest.json"
  tail -n +3 "$PB_DIR/$name.bundle" >"$t/payload"
  PAYLOAD=$t/payload bash -c "$cmd" >"$t/new" || return 1
  {
    echo PATCHGATE-BUNDLE/2
    jq -cS --arg sha "$(sha256sum <"$t/new" | cut -d' ' -f1)" --argjson n "$(stat -c %s "$t/new")" \
      '.payload_sha256 = $sha | .payload_size = $n' "$t/manifest.json"
    cat "$t/new"
  } >"$dir/policy.bundle" || return 1
  "$PG_CLI" bundle sign --key "$KEYS/a.pem" "$dir/policy.bundle" >/dev/null
}

# pb_forge_v1 : a format-1 bundle (the SQLite database), signed, in /v1/.
pb_forge_v1() {
  local dir=$WWW/v1
  mkdir -p "$dir"
  {
    echo PATCHGATE-BUNDLE/1
    jq -cn --arg sha "$(sha256sum <"$PB_DIR/v2.db" | cut -d' ' -f1)" --argjson n "$(stat -c %s "$PB_DIR/v2.db")" \
      '{format: "patchgate-bundle", format_version: 1, serial: 900, created_unix: 1, schema_version: 1,
        images: 2, policy_version: "old", payload_size: $n, payload_sha256: $sha}'
    cat "$PB_DIR/v2.db"
  } >"$dir/policy.bundle" || return 1
  "$PG_CLI" bundle sign --key "$KEYS/a.pem" "$dir/policy.bundle" >/dev/null
}

start_nginx() {
  local d=$BATS_FILE_TMPDIR/nginx i
  mkdir -p "$d/tmp"
  NGINX_PORT=$(free_port)
  NGINX_HTTP_PORT=$(free_port)
  cat >"$d/nginx.conf" <<EOF
daemon off;
# The test's temp directories are private to root.
user root;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log info;
events { worker_connections 64; }
http {
  access_log $d/access.log;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    listen 127.0.0.1:$NGINX_HTTP_PORT;
    ssl_certificate $TLS/server.crt;
    ssl_certificate_key $TLS/server.key;
    root $WWW;
    location /error/ { return 500; }
  }
}
EOF
  nginx -t -q -e "$d/error.log" -p "$d" -c "$d/nginx.conf" || {
    cat "$d/error.log" >&2
    return 1
  }
  nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf" </dev/null >"$d/stdout.log" 2>&1 3>&- &
  NGINX_PID=$!
  NGINX_ACCESS=$d/access.log
  for i in $(seq 50); do
    (exec 9<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null && break
    sleep 0.1
  done
  (exec 9<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null || {
    cat "$d/error.log" >&2
    return 1
  }
  export NGINX_PORT NGINX_HTTP_PORT NGINX_PID NGINX_ACCESS
}

# A TCP listener that accepts and never answers (a stalled server), and a
# plain HTTP one that promises 100000 bytes and sends 100 (a cut transfer),
# after serving 64 bytes for any *.sig.
start_listeners() {
  local d=$BATS_FILE_TMPDIR/listeners i
  mkdir -p "$d"
  python3 -u -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' </dev/null >"$d/stall.port" 2>"$d/stall.err" 3>&- &
  STALL_PID=$!
  python3 -u -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    try:
        req = c.recv(65536)
        if b".sig HTTP/" in req.split(b"\r\n", 1)[0]:
            # A signature (sync reads it first), so that the bundle is fetched.
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 64\r\nConnection: close\r\n\r\n" + b"s" * 64)
        else:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n" + b"x" * 100)
    finally:
        c.close()
' </dev/null >"$d/short.port" 2>"$d/short.err" 3>&- &
  SHORT_PID=$!
  for i in $(seq 50); do
    [ -s "$d/stall.port" ] && [ -s "$d/short.port" ] && break
    sleep 0.1
  done
  STALL_PORT=$(cat "$d/stall.port")
  SHORT_PORT=$(cat "$d/short.port")
  [ -n "$STALL_PORT" ] && [ -n "$SHORT_PORT" ] || return 1
  CLOSED_PORT=$(free_port)
  export STALL_PID SHORT_PID STALL_PORT SHORT_PORT CLOSED_PORT
}

setup_file() {
  pg_require nginx openssl python3 sha256sum stat zstd runc || return 1
  pg_setup_file syslog || return 1
  export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
  PB_DIR=$BATS_FILE_TMPDIR/pb
  KEYS=$BATS_FILE_TMPDIR/keys
  TLS=$BATS_FILE_TMPDIR/tls
  WWW=$BATS_FILE_TMPDIR/www
  export PB_DIR KEYS TLS WWW
  mkdir -p "$PB_DIR" "$KEYS" "$WWW"
  make_tls "$TLS" || pg_fail "openssl could not make the test CA and server certificate" || return 1
  openssl genpkey -algorithm ed25519 -out "$KEYS/a.pem" 2>/dev/null &&
    openssl pkey -in "$KEYS/a.pem" -pubout -out "$KEYS/a.pub.pem" &&
    openssl genpkey -algorithm ed25519 -out "$KEYS/b.pem" 2>/dev/null &&
    openssl pkey -in "$KEYS/b.pem" -pubout -out "$KEYS/b.pub.pem" || pg_fail "openssl genpkey ed25519 failed" || return 1

  # Scan reports: image 1 (both bundles) and image 2 (only the v2 bundle).
  make_trivy_report 1 "$(pg_days_ago 1)" >"$PB_DIR/report-1.json" &&
    make_trivy_report 2 "$(pg_days_ago 1)" >"$PB_DIR/report-2.json" || return 1
  pb_build v1 100 bundle-v1 "$PB_DIR/report-1.json" &&
    pb_build v2 200 bundle-v2 "$PB_DIR/report-1.json" "$PB_DIR/report-2.json" &&
    pb_build old 50 bundle-old "$PB_DIR/report-1.json" || pg_fail "bundle build failed" || return 1
  # Two bundles of one shape, so of one size: serials 400 and 401, policies
  # bundle-w1 and bundle-w2, the same report, built at the same time.
  PB_CREATED=$(pg_days_ago 1) pb_build w1 400 bundle-w1 "$PB_DIR/report-1.json" &&
    PB_CREATED=$(pg_days_ago 1) pb_build w2 401 bundle-w2 "$PB_DIR/report-1.json" || return 1
  # Compressed payloads of one shape may differ by a few bytes: pad the
  # shorter manifest line with JSON whitespace to make them one size.
  python3 - "$PB_DIR/w1.bundle" "$PB_DIR/w2.bundle" <<'PY' || return 1
import sys
a, b = (open(p, "rb").read() for p in sys.argv[1:3])
short, n = (1, len(a) - len(b)) if len(a) > len(b) else (0, len(b) - len(a))
p = sys.argv[1 + short]
d = open(p, "rb").read()
i = d.index(b"\n") + 2  # after the manifest's opening brace
open(p, "wb").write(d[:i] + b" " * n + d[i:])
PY
  # A bundle made 10 days before PG_NOW, for max_policy_age.
  PB_CREATED=$(pg_days_ago 10) pb_build aged 300 bundle-aged "$PB_DIR/report-1.json" || return 1

  pb_publish v1 good && pb_publish v2 v2 && pb_publish old old && pb_publish aged aged || return 1
  # Signed by a key the hosts do not trust.
  pb_publish v2 unknown-key "$KEYS/b.pem" || return 1
  # Tampered after signing: one byte of the compressed payload changed.
  pb_publish v2 tampered &&
    python3 - "$WWW/tampered/policy.bundle" <<'EOF' || return 1
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-20] ^= 1
open(p, "wb").write(bytes(b))
EOF
  # Truncated after signing (a publisher whose upload died half way).
  pb_publish v2 truncated && truncate -s -10 "$WWW/truncated/policy.bundle" || return 1
  # Correctly signed forgeries that only the later checks catch: a payload
  # that inflates to 64 MiB (a decompression bomb) while the manifest says
  # the index is a few KB; the compressed stream cut in half with the
  # manifest made to match; a format-1 bundle (a SQLite snapshot).
  pb_forge v2 bomb 'head -c 64M /dev/zero | zstd -q -3' &&
    pb_forge v2 cutstream 'head -c $(($(wc -c <"$PAYLOAD") / 2)) "$PAYLOAD"' &&
    pb_forge_v1 || return 1
  # A manifest whose payload_sha256 is wrong, correctly signed.
  mkdir -p "$WWW/badsha"
  python3 - "$PB_DIR/v2.bundle" "$WWW/badsha/policy.bundle" <<'EOF' || return 1
import sys
b = open(sys.argv[1], "rb").read()
i = b.index(b'"payload_sha256":"') + len(b'"payload_sha256":"')
b = b[:i] + (b"1" if b[i:i+1] == b"0" else b"0") + b[i+1:]
open(sys.argv[2], "wb").write(b)
EOF
  "$PG_CLI" bundle sign --key "$KEYS/a.pem" "$WWW/badsha/policy.bundle" >/dev/null || return 1
  # /nosig/: a bundle without its .sig (404 on the signature).
  mkdir -p "$WWW/nosig" && cp "$PB_DIR/v2.bundle" "$WWW/nosig/policy.bundle" || return 1

  # Runtime bundles of images 1 and 2 for the hook.
  PG_BUNDLE_DIR=$BATS_FILE_TMPDIR/rt PG_HOOK_STAGE=none make_bundle img1 1 >/dev/null &&
    PG_BUNDLE_DIR=$BATS_FILE_TMPDIR/rt PG_HOOK_STAGE=none make_bundle img2 2 >/dev/null || return 1

  start_nginx || pg_fail "nginx did not start" || return 1
  start_listeners || pg_fail "the test listeners did not start" || return 1
  BASE=https://127.0.0.1:$NGINX_PORT
  export BASE
}

teardown() {
  pg_teardown
}

teardown_file() {
  local p
  for p in "${NGINX_PID:-}" "${STALL_PID:-}" "${SHORT_PID:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null
  done
  for p in "${NGINX_PID:-}" "${STALL_PID:-}" "${SHORT_PID:-}"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null
  done
  pg_teardown_file
}

setup() {
  pg_setup
  # A host that takes bundles: policy_db names where the sync state and lock
  # go, and is never created; the hook reads policy_index, beside it.
  HOST_DB=$BATS_TEST_TMPDIR/host/policy.db
  HOST_IDX=$BATS_TEST_TMPDIR/host/policy.idx
  HOST_CFG=$BATS_TEST_TMPDIR/hook.json
  jq -n --arg db "$HOST_DB" --arg k "$KEYS/a.pub.pem" \
    '{policy_db: $db, on_error: "deny", syslog_facility: "daemon", trusted_keys: [$k], test_clock: true}' >"$HOST_CFG"
  export HOST_DB HOST_IDX HOST_CFG
}

# --- helpers ----------------------------------------------------------------

# sync ARGS... : `patchgate sync` with the test CA and host config, short
# timeouts and no retries unless ARGS say otherwise; stdout+stderr in $output.
sync() {
  run "$PG_CLI" sync --config "$HOST_CFG" --ca "$TLS/ca.crt" --connect-timeout 2 --timeout 5 --retries 0 "$@"
}

sync_ok() {
  sync "$@"
  [ "$status" -eq 0 ] || pg_fail "sync $*: exit $status: $output"
}

# hook_decides IMAGE : the real hook's exit code for runtime bundle imgIMAGE.
hook_decides() {
  local b=$BATS_FILE_TMPDIR/rt/img$1
  run env PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" --config "$HOST_CFG" <<<"$(pg_state_json "bsync-$1-$$" "$b")"
}

# decides_by_v1 : image 1 allowed, image 2 unscanned (denied): the v1 bundle.
decides_by_v1() {
  hook_decides 1
  [ "$status" -eq 0 ] || pg_fail "hook: image 1 should be allowed under v1: exit $status: $output" || return 1
  hook_decides 2
  [ "$status" -eq 1 ] || pg_fail "hook: image 2 should be denied under v1: exit $status: $output" || return 1
  [[ $output == *"has never been scanned"* ]] || pg_fail "hook: expected UNSCANNED: $output" || return 1
  run "$PG_CLI" check --config "$HOST_CFG" --db "$HOST_DB" --digest "$PG_MANIFEST_1" --at "$PG_NOW"
  [ "$status" -eq 0 ] || pg_fail "check: image 1 should be allowed: $output" || return 1
  [[ $output == *"policy bundle-v1"* ]] || pg_fail "check: expected policy bundle-v1: $output" || return 1
  run "$PG_CLI" check --config "$HOST_CFG" --db "$HOST_DB" --digest "$PG_MANIFEST_2" --at "$PG_NOW"
  [ "$status" -eq 1 ] || pg_fail "check: image 2 should be denied: $output" || return 1
}

# The active index, which every refusal must leave as it was, and no temp
# file beside it; no database ever appears on the host.
db_fingerprint() {
  [ ! -e "$HOST_DB" ] || echo "a database appeared: $HOST_DB"
  echo "$(sha256sum <"$HOST_IDX") $(stat -c '%i %Y.%y' "$HOST_IDX")"
  ls -A "$(dirname "$HOST_IDX")" | grep '^\.' || true
}

# with_v1 : the host runs the v1 bundle (serial 100); remembers its fingerprint.
with_v1() {
  sync_ok "$BASE/good/policy.bundle"
  [[ $output == *"activated bundle serial 100"* ]] || pg_fail "first sync: $output" || return 1
  BEFORE=$(db_fingerprint)
}

# refused WHAT-PATTERN URL [SYNC-ARGS...] : the sync fails with exit 2, says
# WHAT on stderr and in syslog, and leaves the database and decisions as they were.
refused() {
  local what=$1 url=$2
  shift 2
  sync "$@" "$url"
  SYNC_OUTPUT=$output
  [ "$status" -eq 2 ] || pg_fail "sync $url: expected exit 2, got $status: $output" || return 1
  [[ $output =~ $what ]] || pg_fail "sync $url: expected /$what/ in: $output" || return 1
  [[ $output == *"the active policy stays (serial 100)"* ]] || pg_fail "no 'active policy stays' in: $output" || return 1
  [ "$(db_fingerprint)" = "$BEFORE" ] || pg_fail "the active database changed after a refused sync" || return 1
  wait_syslog "daemon\.err patchgate\[[0-9]+\]: action=sync result=error url=\"?${url//./\\.}\"? active_serial=100 error=.*$what" >/dev/null ||
    pg_fail "no syslog line for the refused sync of $url" || return 1
  decides_by_v1
}

# --- tests --------------------------------------------------------------------

@test "bundle: signatures interoperate with openssl pkeyutl in both directions" {
  local f=$BATS_TEST_TMPDIR/x.bundle
  cp "$PB_DIR/v1.bundle" "$f"
  run "$PG_CLI" bundle sign --key "$KEYS/a.pem" "$f"
  assert_success
  [ "$(stat -c %s "$f.sig")" -eq 64 ] || pg_fail "signature is not 64 bytes"
  run openssl pkeyutl -verify -pubin -inkey "$KEYS/a.pub.pem" -rawin -in "$f" -sigfile "$f.sig"
  assert_success
  assert_output_contains "Signature Verified Successfully"
  # ...and openssl's signature is accepted by patchgate.
  openssl pkeyutl -sign -rawin -inkey "$KEYS/a.pem" -in "$f" -out "$f.sig"
  run "$PG_CLI" bundle verify --key "$KEYS/a.pub.pem" "$f"
  assert_success
  [ "$(jq -r .serial <<<"$output")" = 100 ] || pg_fail "verify output: $output"
  run "$PG_CLI" activate --config "$HOST_CFG" "$f"
  assert_success
  assert_output_contains "activated bundle serial 100"
  # A signature by the other key fails both verifiers.
  openssl pkeyutl -sign -rawin -inkey "$KEYS/b.pem" -in "$f" -out "$f.sig"
  run "$PG_CLI" bundle verify --key "$KEYS/a.pub.pem" "$f"
  [ "$status" -eq 2 ] || pg_fail "verify with the wrong key: exit $status"
  assert_output_contains "bad signature"
  run openssl pkeyutl -verify -pubin -inkey "$KEYS/a.pub.pem" -rawin -in "$f" -sigfile "$f.sig"
  assert_failure
}

@test "sync: the first sync activates; the hook and check decide by it; syslog and status say so" {
  [ ! -e "$HOST_DB" ] && [ ! -e "$HOST_IDX" ]
  sync_ok "$BASE/good/policy.bundle"
  assert_output_contains "activated bundle serial 100"
  [ -f "$HOST_IDX" ] || pg_fail "no index at $HOST_IDX"
  [ ! -e "$HOST_DB" ] || pg_fail "activation created a database"
  decides_by_v1
  wait_syslog "daemon\.notice patchgate\[[0-9]+\]: action=sync result=activated .*serial=100 previous_serial=0 policy=bundle-v1" >/dev/null ||
    pg_fail "no syslog line for the activation"
  run "$PG_CLI" status --db "$HOST_DB"
  assert_success
  assert_output_contains "bundle serial:   100"
  assert_output_contains "database:        none"
  assert_output_contains "policy:          bundle-v1"
  assert_output_matches "last sync: .* $BASE/good/policy.bundle: activated serial 100"
  run "$PG_CLI" status --db "$HOST_DB" --json
  [ "$(jq -r '.bundle.serial, .last_sync.ok' <<<"$output" | tr '\n' ' ')" = "100 true " ] ||
    pg_fail "status --json: $output"
}

# requests_since N : the access log's lines after the first N.
requests_since() {
  tail -n +"$(($1 + 1))" "$NGINX_ACCESS"
}

@test "sync: an unchanged bundle costs one request for its signature and the database is not rewritten" {
  with_v1
  local before_lines
  before_lines=$(wc -l <"$NGINX_ACCESS")
  sleep 1.1 # a rewrite would show in the mtime
  sync_ok "$BASE/good/policy.bundle"
  assert_output_contains "not modified (its signature is the active bundle's): serial 100 stays active"
  [ "$(db_fingerprint)" = "$BEFORE" ] || pg_fail "the index was rewritten for an unchanged bundle"
  # One request: the 64-byte signature, unconditionally; not the bundle.
  requests_since "$before_lines" >"$BATS_TEST_TMPDIR/requests"
  [ "$(wc -l <"$BATS_TEST_TMPDIR/requests")" -eq 1 ] || pg_fail "expected one request: $(cat "$BATS_TEST_TMPDIR/requests")"
  grep -q '"GET /good/policy.bundle.sig HTTP/1.1" 200 64 ' "$BATS_TEST_TMPDIR/requests" ||
    pg_fail "expected the signature, 64 bytes: $(cat "$BATS_TEST_TMPDIR/requests")"
  wait_syslog "patchgate\[[0-9]+\]: action=sync result=not-modified .*serial=100" >/dev/null
  decides_by_v1
}

# http_validators URL [ETAG LAST-MODIFIED] : "CODE|ETAG|LAST-MODIFIED" of a GET
# of URL from the test's nginx, conditional when ETAG is given.
http_validators() {
  python3 - "$TLS/ca.crt" "$@" <<'PY'
import ssl, sys, urllib.request, urllib.error
ca, url = sys.argv[1], sys.argv[2]
req = urllib.request.Request(url)
if len(sys.argv) > 3:
    req.add_header("If-None-Match", sys.argv[3])
    req.add_header("If-Modified-Since", sys.argv[4])
try:
    r = urllib.request.urlopen(req, context=ssl.create_default_context(cafile=ca))
    code, h = r.status, r.headers
except urllib.error.HTTPError as e:
    code, h = e.code, e.headers
print(code, h.get("ETag"), h.get("Last-Modified"), sep="|")
PY
}

@test "sync: a new bundle of the same size, published within the same second, is fetched (weak validators)" {
  local t="2026-11-20 10:00:00" first second etag lm
  mkdir -p "$WWW/weak"
  [ "$(stat -c %s "$PB_DIR/w1.bundle")" = "$(stat -c %s "$PB_DIR/w2.bundle")" ] ||
    pg_fail "the two bundles must be of one size: $(stat -c %s "$PB_DIR/w1.bundle" "$PB_DIR/w2.bundle")"
  cmp -s "$PB_DIR/w1.bundle" "$PB_DIR/w2.bundle" && pg_fail "the two bundles must differ"
  cp "$PB_DIR/w1.bundle" "$WWW/weak/policy.bundle"
  "$PG_CLI" bundle sign --key "$KEYS/a.pem" "$WWW/weak/policy.bundle" >/dev/null
  touch -d "$t" "$WWW/weak/policy.bundle" "$WWW/weak/policy.bundle.sig"
  first=$(http_validators "$BASE/weak/policy.bundle")
  sync_ok "$BASE/weak/policy.bundle"
  assert_output_contains "activated bundle serial 400"

  # The next bundle: the same size, the same mtime second.
  cp "$PB_DIR/w2.bundle" "$WWW/weak/policy.bundle"
  "$PG_CLI" bundle sign --key "$KEYS/a.pem" "$WWW/weak/policy.bundle" >/dev/null
  touch -d "$t" "$WWW/weak/policy.bundle" "$WWW/weak/policy.bundle.sig"
  # nginx's validators are those of the first, and a conditional request
  # is answered 304: a sync that trusted them would never get serial 401.
  second=$(http_validators "$BASE/weak/policy.bundle")
  [ "${first#200|}" = "${second#200|}" ] || pg_fail "nginx's validators differ: $first / $second"
  IFS='|' read -r _ etag lm <<<"$first"
  [ "$(http_validators "$BASE/weak/policy.bundle" "$etag" "$lm" | cut -d'|' -f1)" = 304 ] ||
    pg_fail "nginx did not answer 304 to the first bundle's validators"

  sync_ok "$BASE/weak/policy.bundle"
  assert_output_contains "activated bundle serial 401"
  assert_output_contains "was serial 400"
  run "$PG_CLI" check --config "$HOST_CFG" --db "$HOST_DB" --digest "$PG_MANIFEST_1" --at "$PG_NOW"
  assert_success
  assert_output_contains "policy bundle-w2"
  # Now it is the active one: nothing more to do.
  sync_ok "$BASE/weak/policy.bundle"
  assert_output_contains "not modified"
}

@test "sync: a bundle re-signed with a new key (already active) is fetched once, then not again" {
  with_v1
  local before_lines
  jq --arg k "$KEYS/b.pub.pem" '.trusted_keys += [$k]' "$HOST_CFG" >"$HOST_CFG.new" && mv "$HOST_CFG.new" "$HOST_CFG"
  mkdir -p "$WWW/rotated"
  cp "$PB_DIR/v1.bundle" "$WWW/rotated/policy.bundle"
  "$PG_CLI" bundle sign --key "$KEYS/b.pem" "$WWW/rotated/policy.bundle" >/dev/null
  sync_ok "$BASE/rotated/policy.bundle"
  assert_output_contains "serial 100 is already active"
  [ "$(db_fingerprint)" = "$BEFORE" ] || pg_fail "the database was rewritten for the same serial"
  before_lines=$(wc -l <"$NGINX_ACCESS")
  sync_ok "$BASE/rotated/policy.bundle"
  assert_output_contains "not modified"
  [ "$(requests_since "$before_lines" | grep -c 'GET /rotated/policy.bundle HTTP')" -eq 0 ] ||
    pg_fail "the bundle was fetched again: $(requests_since "$before_lines")"
  decides_by_v1
}

@test "sync: a new serial activates and decisions follow it" {
  with_v1
  sync_ok "$BASE/v2/policy.bundle"
  assert_output_contains "activated bundle serial 200"
  assert_output_contains "was serial 100"
  hook_decides 2
  [ "$status" -eq 0 ] || pg_fail "image 2 is scanned in v2 and should be allowed: $output"
  run "$PG_CLI" check --config "$HOST_CFG" --db "$HOST_DB" --digest "$PG_MANIFEST_2" --at "$PG_NOW"
  assert_success
  assert_output_contains "policy bundle-v2"
  # The same bundle again under a new URL name is nothing to do: its
  # signature is the active bundle's, so the bundle is not even fetched.
  mkdir -p "$WWW/v2copy" && cp "$WWW/v2/policy.bundle"* "$WWW/v2copy/"
  sync_ok "$BASE/v2copy/policy.bundle"
  assert_output_contains "not modified (its signature is the active bundle's): serial 200 stays active"
}

@test "sync: a lower serial is refused (no rollback)" {
  with_v1
  refused "serial 50 is lower than the active serial 100" "$BASE/old/policy.bundle"
}

@test "sync: a tampered bundle is refused (bad signature)" {
  with_v1
  refused "bad signature" "$BASE/tampered/policy.bundle"
}

@test "sync: a bundle signed by an unknown key is refused" {
  with_v1
  refused "verifies with none of the 1 trusted key" "$BASE/unknown-key/policy.bundle"
}

@test "sync: a decompression bomb is refused before it fills the disk" {
  with_v1
  refused "inflates beyond [0-9]+ bytes, the index size its manifest declares" "$BASE/bomb/policy.bundle"
}

@test "sync: a compressed stream cut short (manifest re-signed to match) is refused" {
  with_v1
  refused "compressed stream ends early \(truncated\)" "$BASE/cutstream/policy.bundle"
}

@test "sync: a format-1 bundle (a database snapshot) is refused by name" {
  with_v1
  refused "is of format 1 \(a policy database snapshot\); this patchgate reads only format 2" "$BASE/v1/policy.bundle"
}

@test "sync: a truncated bundle is refused, and so is a cut transfer" {
  with_v1
  refused "bad signature" "$BASE/truncated/policy.bundle"
  refused "transfer closed with [0-9]+ bytes remaining" "http://127.0.0.1:$SHORT_PORT/policy.bundle" --allow-http
}

@test "sync: a manifest with the wrong SHA-256 is refused" {
  with_v1
  refused "the payload's SHA-256 is [0-9a-f]{64}, the manifest says" "$BASE/badsha/policy.bundle"
}

@test "sync: a body larger than --max-size is refused" {
  with_v1
  refused "larger than the limit of 1024 bytes \(--max-size\)" "$BASE/v2/policy.bundle" --max-size 1K
}

@test "sync: HTTP 404 (bundle, then signature) is refused" {
  with_v1
  refused "HTTP 404" "$BASE/missing/policy.bundle"
  refused "signature: .*policy\.bundle\.sig: HTTP 404" "$BASE/nosig/policy.bundle"
}

@test "sync: HTTP 500 is refused after bounded retries with back-off" {
  with_v1
  local before_lines
  before_lines=$(wc -l <"$NGINX_ACCESS")
  refused "giving up after 2 attempts.*HTTP 500" "$BASE/error/policy.bundle" --retries 1
  [[ $SYNC_OUTPUT =~ attempt\ 1\ failed.*retrying\ in\ [0-9.]+\ s ]] || pg_fail "no retry notice: $SYNC_OUTPUT"
  # The signature is fetched first: its two attempts, and no bundle request.
  [ "$(tail -n +"$((before_lines + 1))" "$NGINX_ACCESS" | grep -c '/error/policy.bundle.sig HTTP/1.1" 500')" -eq 2 ] ||
    pg_fail "expected 2 requests: $(tail -n 5 "$NGINX_ACCESS")"
}

@test "sync: connection refused is refused" {
  with_v1
  refused "(Connection refused|Failed to connect|Couldn't connect)" "https://127.0.0.1:$CLOSED_PORT/policy.bundle"
}

@test "sync: a server that stalls past --timeout is refused" {
  with_v1
  local t0=$SECONDS
  refused "([Tt]imed out|[Tt]imeout)" "https://127.0.0.1:$STALL_PORT/policy.bundle" --timeout 2
  [ $((SECONDS - t0)) -lt 20 ] || pg_fail "the stalled sync took $((SECONDS - t0)) s"
}

@test "sync: a server certificate from an unknown CA is refused" {
  with_v1
  run "$PG_CLI" sync --config "$HOST_CFG" --retries 0 --timeout 5 "$BASE/v2/policy.bundle"
  [ "$status" -eq 2 ] || pg_fail "expected exit 2: $output"
  assert_output_matches "(certificate|SSL)"
  [ "$(db_fingerprint)" = "$BEFORE" ] || pg_fail "the database changed"
}

@test "sync: plain http:// is refused unless --allow-http" {
  with_v1
  refused "refusing plain http://" "http://127.0.0.1:$NGINX_HTTP_PORT/v2/policy.bundle"
  sync_ok --allow-http "http://127.0.0.1:$NGINX_HTTP_PORT/v2/policy.bundle"
  assert_output_contains "activated bundle serial 200"
}

@test "activate: a bundle file is verified and activated without network" {
  run "$PG_CLI" activate --config "$HOST_CFG" "$WWW/good/policy.bundle"
  assert_success
  assert_output_contains "activated bundle serial 100"
  BEFORE=$(db_fingerprint)
  decides_by_v1
  for bad in tampered unknown-key truncated badsha old bomb cutstream v1; do
    run "$PG_CLI" activate --config "$HOST_CFG" "$WWW/$bad/policy.bundle"
    [ "$status" -eq 2 ] || pg_fail "activate $bad: expected exit 2, got $status: $output"
    assert_output_contains "the active policy stays (serial 100)"
    [ "$(db_fingerprint)" = "$BEFORE" ] || pg_fail "activate $bad changed the active index"
  done
  wait_syslog "daemon\.err patchgate\[[0-9]+\]: action=activate result=error file=\"?$WWW/old/policy\.bundle\"? .*lower than the active serial" >/dev/null
  decides_by_v1
  # No trusted keys: nothing can be activated.
  jq 'del(.trusted_keys)' "$HOST_CFG" >"$BATS_TEST_TMPDIR/nokeys.json"
  run "$PG_CLI" activate --config "$BATS_TEST_TMPDIR/nokeys.json" "$WWW/v2/policy.bundle"
  [ "$status" -eq 2 ] || pg_fail "activate without trusted_keys: exit $status"
  assert_output_contains "no trusted_keys"
}

@test "activate: under real runc, the hook refuses and allows by the activated bundle alone" {
  local b1 b2 id
  export PG_RUNTIME=runc
  run "$PG_CLI" activate --config "$HOST_CFG" "$WWW/good/policy.bundle"
  assert_success
  [ ! -e "$HOST_DB" ] || pg_fail "activation created a database"
  b1=$(PG_HOOK_CONFIG=$HOST_CFG make_bundle rt1 1) && b2=$(PG_HOOK_CONFIG=$HOST_CFG make_bundle rt2 2) ||
    pg_fail "make_bundle failed"
  id=$(new_cid)
  run rt_run "$id" "$b1"
  [ "$status" -eq 0 ] || pg_fail "runc: image 1 is allowed by bundle v1: $output"
  assert_output_contains hello-from-container
  wait_syslog "patchgate-hook\[[0-9]+\]: decision=allow container=\"?$id\"?.* policy=bundle-v1" >/dev/null ||
    pg_fail "no allow decision under policy bundle-v1"
  id=$(new_cid)
  run rt_run "$id" "$b2"
  [ "$status" -ne 0 ] || pg_fail "runc: image 2 is unscanned in bundle v1 and must be refused: $output"
  assert_output_contains "has never been scanned"
  refute_output_contains hello-from-container
  # The v2 bundle scanned image 2: now it runs.
  run "$PG_CLI" activate --config "$HOST_CFG" "$WWW/v2/policy.bundle"
  assert_success
  id=$(new_cid)
  run rt_run "$id" "$b2"
  [ "$status" -eq 0 ] || pg_fail "runc: image 2 is allowed by bundle v2: $output"
  assert_output_contains hello-from-container
}

@test "activate: a host with its own database: a local import does not replace the bundle's index" {
  local before
  pg_make_db "$HOST_DB" "$PB_DIR/v2.policy.json" "$PB_DIR/report-1.json" || pg_fail "local database"
  # The local database compiled its own index first; the bundle replaces it.
  run "$PG_CLI" activate --config "$HOST_CFG" "$WWW/good/policy.bundle"
  assert_success
  before=$(sha256sum <"$HOST_IDX")
  run "$PG_CLI" import --db "$HOST_DB" "$PB_DIR/report-2.json"
  [ "$status" -eq 2 ] || pg_fail "import over an activated index: exit $status: $output"
  assert_output_contains "activated from the signed bundle serial 100"
  [ "$(sha256sum <"$HOST_IDX")" = "$before" ] || pg_fail "the import replaced the bundle's index"
  run "$PG_CLI" index build --db "$HOST_DB"
  [ "$status" -eq 2 ] || pg_fail "index build over an activated index: exit $status: $output"
  [ "$(sha256sum <"$HOST_IDX")" = "$before" ] || pg_fail "index build replaced the bundle's index"
  # The hook and check still decide by the bundle, not by the newer database.
  decides_by_v1
  run "$PG_CLI" status --db "$HOST_DB"
  assert_output_contains "activated from a bundle: the hook decides from it, not from this database"
}

@test "activate: readers during repeated activations see the old or the new database, never an error" {
  local i stop=$BATS_TEST_TMPDIR/stop errors=$BATS_TEST_TMPDIR/reader-errors reader
  run "$PG_CLI" activate --config "$HOST_CFG" "$WWW/good/policy.bundle"
  assert_success
  : >"$errors"
  (
    n=0
    while [ ! -e "$stop" ]; do
      out=$("$PG_CLI" check --config "$HOST_CFG" --db "$HOST_DB" --digest "$PG_MANIFEST_1" --at "$PG_NOW" 2>&1) ||
        echo "check exit $?: $out" >>"$errors"
      n=$((n + 1))
    done
    echo "$n" >"$BATS_TEST_TMPDIR/reads"
  ) 3>&- &
  reader=$!
  for i in $(seq 101 112); do
    "$PG_CLI" bundle build -o "$BATS_TEST_TMPDIR/s$i.bundle" --db "$PB_DIR/v1.db" --serial "$i" >/dev/null &&
      "$PG_CLI" bundle sign --key "$KEYS/a.pem" "$BATS_TEST_TMPDIR/s$i.bundle" >/dev/null &&
      "$PG_CLI" activate --config "$HOST_CFG" "$BATS_TEST_TMPDIR/s$i.bundle" >/dev/null ||
      pg_fail "activating serial $i failed" || break
  done
  touch "$stop"
  wait "$reader"
  [ ! -s "$errors" ] || pg_fail "a reader failed during activation: $(head -n 5 "$errors")"
  [ ! -e "$HOST_DB" ] || pg_fail "activation created a database"
  [ "$(cat "$BATS_TEST_TMPDIR/reads")" -gt 5 ] || pg_fail "the reader ran only $(cat "$BATS_TEST_TMPDIR/reads") times"
  run "$PG_CLI" status --db "$HOST_DB"
  assert_output_contains "bundle serial:   112"
}

@test "policy age: a bundle older than max_policy_age is POLICY_STALE (deny, audit, allow)" {
  jq '.max_policy_age = "7d"' "$HOST_CFG" >"$HOST_CFG.new" && mv "$HOST_CFG.new" "$HOST_CFG"
  sync_ok "$BASE/aged/policy.bundle"
  hook_decides 1
  [ "$status" -eq 1 ] || pg_fail "a 10-day-old bundle under max_policy_age 7d should deny: exit $status: $output"
  assert_output_contains "10 days old"
  assert_output_contains "max_policy_age"
  wait_syslog "patchgate-hook\[[0-9]+\]: decision=deny container=\"?bsync-1-$$\"?.* reasons=POLICY_STALE" >/dev/null ||
    pg_fail "no deny decision with POLICY_STALE in syslog"
  jq '.policy_stale = "audit"' "$HOST_CFG" >"$HOST_CFG.new" && mv "$HOST_CFG.new" "$HOST_CFG"
  hook_decides 1
  [ "$status" -eq 0 ] || pg_fail "policy_stale audit should allow: exit $status: $output"
  wait_syslog "patchgate-hook\[[0-9]+\]: decision=audit container=\"?bsync-1-$$\"?.* reasons=POLICY_STALE" >/dev/null
  jq '.policy_stale = "allow"' "$HOST_CFG" >"$HOST_CFG.new" && mv "$HOST_CFG.new" "$HOST_CFG"
  hook_decides 1
  [ "$status" -eq 0 ] || pg_fail "policy_stale allow should allow: exit $status: $output"
  wait_syslog "patchgate-hook\[[0-9]+\]: decision=allow container=\"?bsync-1-$$\"?.* policy_stale=allow" >/dev/null
  # A locally built database has no bundle age: max_policy_age does not apply.
  jq --arg db "$PB_DIR/v1.db" '.policy_db = $db | .policy_stale = "deny"' "$HOST_CFG" >"$BATS_TEST_TMPDIR/local.json"
  run env PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" --config "$BATS_TEST_TMPDIR/local.json" \
    <<<"$(pg_state_json "bsync-local-$$" "$BATS_FILE_TMPDIR/rt/img1")"
  [ "$status" -eq 0 ] || pg_fail "a local database must not be POLICY_STALE: $output"
}

@test "bundle, sync, activate: --help and usage errors" {
  for c in "bundle --help" "bundle build --help" "bundle sign --help" "bundle verify --help" "sync --help" "activate --help"; do
    run "$PG_CLI" $c
    [ "$status" -eq 0 ] || pg_fail "patchgate $c: exit $status"
    assert_output_contains "Usage: patchgate"
  done
  run "$PG_CLI" sync
  [ "$status" -eq 2 ]
  run "$PG_CLI" bundle build
  [ "$status" -eq 2 ]
  run "$PG_CLI" sync --config "$HOST_CFG" "ftp://127.0.0.1/policy.bundle"
  [ "$status" -eq 2 ]
  assert_output_contains "only https://"
}
