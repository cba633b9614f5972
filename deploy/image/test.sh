#!/usr/bin/env bash
# The image test (CI runs it from .ci/run): builds the base images offline (base.sh) and the real
# deploy/Dockerfile with podman, then runs guard-service and the gate from the image — read-only
# root filesystem, as user 65532 — in front of a backend on the host. drive.mjs learns through
# the gate, switches the Guardian to block, and checks that attacks are refused and normal
# traffic served. Prints the image's size, the gate's start time and how long each step took.
#
#   deploy/image/test.sh              needs root (apt-get install of podman, buildah, runc, debootstrap)
#   GUARD_IMAGE_KEEP=1                keep the containers and images afterwards
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/deploy/image"
export CONTAINERS_CONF="$here/containers.conf"
cd "$root"
started=$SECONDS
step() { echo "image-test: $* ($((SECONDS - started)) s)"; }

if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null || ! command -v runc >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc debootstrap uidmap >/dev/null
  step "podman, buildah, runc, debootstrap installed"
fi

bash "$here/base.sh"
step "base images made"

tag="localhost/guard:image-test"
dangling_before="$(podman images -q --filter dangling=true | sort)"
# The npm cache this run's own `npm ci` filled, as an overlay (the build's writes stay in it): the
# build's `npm ci` then downloads little. Without it the build is the same, only slower.
cache=()
if [ -d "${HOME:-/root}/.npm/_cacache" ]; then cache=(--volume "${HOME:-/root}/.npm:/root/.npm:O"); fi
podman build --pull=never --network host --format docker --quiet "${cache[@]}" -f deploy/Dockerfile -t "$tag" . >/dev/null
step "deploy/Dockerfile built"
size=$(podman image inspect --format '{{.Size}}' "$tag")

work="$(mktemp -d /var/tmp/guard-image-test.XXXXXX)"
chmod 0777 "$work" # the containers run as 65532 and write the Guardian store and the people token here
containers=(guard-image-test-gate)
cleanup() {
  for c in "${containers[@]}"; do podman rm -f "$c" >/dev/null 2>&1 || true; done
  if [ "${GUARD_IMAGE_KEEP:-}" != "1" ]; then podman rmi -f "$tag" >/dev/null 2>&1 || true; fi
  # The build stage's image: the dangling images this build left, and no one else's.
  comm -13 <(echo "$dangling_before") <(podman images -q --filter dangling=true | sort) | xargs -r podman rmi -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
service_port=$(free_port); gate_port=$(free_port); admin_port=$(free_port)
run=(podman run -d --runtime runc --network host --read-only --tmpfs /tmp --user 65532:65532)

containers+=(guard-image-test-service)
"${run[@]}" --name guard-image-test-service -v "$work:/data" \
  -e GUARD_SERVICE_AUTH=false -e GUARD_STORE=file -e GUARD_STORE_DIR=/data/guardians \
  -e GUARD_SERVICE_PORT="$service_port" -e GUARD_SERVICE_TLS=false \
  -e GUARD_SERVICE_PEOPLE_TOKEN_FILE=/data/people-token -e GUARD_SERVICE_LOG_LEVEL=warn \
  "$tag" service >/dev/null

# The backend and the test drive run on the host; drive.mjs starts the gate container itself, so
# that it can time the gate from `podman run` to a ready /readyz.
node "$here/drive.mjs" --service-port "$service_port" --gate-port "$gate_port" --admin-port "$admin_port" \
  --token-file "$work/people-token" --image "$tag" --image-size "$size"
step "image test passed"
