#!/usr/bin/env bash
# Makes, offline, the two base images deploy/Dockerfile starts FROM, with the content of the
# official ones: `debian:bookworm-slim` (a debootstrapped bookworm minbase root filesystem without
# documentation, manuals, locales or apt lists) and `node:20-bookworm-slim` (the same, plus the
# Node.js 20 and npm this machine runs, as the official image lays them out under /usr/local).
#
# No container registry is reachable from the machines this project is built on; Debian's mirror
# and the npm registry are. Where TLS to the npm registry is verified with a CA bundle of this
# machine's (NODE_EXTRA_CA_CERTS), the node image carries that bundle and the variable, so that
# `npm ci` in the Dockerfile's build stage reaches the registry as the host does.
#
#   deploy/image/base.sh            builds both (about a minute and a half here), replacing older ones
#   GUARD_BASE_MIRROR=URL           the Debian mirror (default: the one apt uses here, deb.debian.org)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export CONTAINERS_CONF="$here/containers.conf"
mirror="${GUARD_BASE_MIRROR:-http://deb.debian.org/debian}"
node_bin="$(command -v node)"
node_version="$(node --version)"
case "$node_version" in v20.*) ;; *) echo "base.sh: the image is for Node.js 20, this machine runs $node_version" >&2; exit 2 ;; esac
npm_dir="$(dirname "$(readlink -f "$(command -v npm)")")/.."
npm_dir="$(cd "$npm_dir" && pwd)"
[ -f "$npm_dir/bin/npm-cli.js" ] || { echo "base.sh: npm not found next to $(command -v npm)" >&2; exit 2; }
for tool in debootstrap podman; do
  command -v "$tool" >/dev/null || { echo "base.sh: $tool is missing (apt-get install podman buildah runc debootstrap)" >&2; exit 2; }
done

work="$(mktemp -d /var/tmp/guard-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

# The images these tags name now: replaced below, then removed, so that re-runs leave nothing behind.
replaced="$(podman images -q debian:bookworm-slim; podman images -q node:20-bookworm-slim)"

started=$SECONDS
debootstrap --variant=minbase --arch=amd64 bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}
# What debian:bookworm-slim leaves out: documentation, manuals, translations, package lists, caches.
rm -rf "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
  "$rootfs"/usr/share/locale/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* \
  "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/log/* "$rootfs"/tmp/*
tar -C "$rootfs" --numeric-owner -c . | podman import --change 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
echo "base.sh: debian:bookworm-slim made in $((SECONDS - started)) s" >&2

# node:20-bookworm-slim: the official image's layout (node and npm under /usr/local).
install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules"
cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
changes=(--change 'CMD ["node"]')
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  install -D -m 0644 "$NODE_EXTRA_CA_CERTS" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
fi
tar -C "$rootfs" --numeric-owner -c . | podman import "${changes[@]}" - node:20-bookworm-slim >/dev/null
echo "base.sh: node:20-bookworm-slim ($node_version) made in $((SECONDS - started)) s" >&2
for id in $replaced; do
  if [ -z "$(podman images -q --filter "id=$id" --filter dangling=false)" ]; then podman rmi "$id" >/dev/null 2>&1 || true; fi
done
