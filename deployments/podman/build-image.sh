#!/usr/bin/env bash
# Builds volpred's image with Podman (no Docker daemon, no registry needed) and tags it
# localhost/volpred:<version> and localhost/volpred:latest. On a fresh Debian 12 machine, as
# root, it installs the tools first. The base image is pulled when a registry serves it, and
# made from Debian's packages (base-image.sh) only when it cannot be pulled.
# Usage: deployments/podman/build-image.sh [extra podman build options]
set -euo pipefail
. "$(dirname "$0")/env.sh"
root="$(cd "$PODMAN_DIR/../.." && pwd)"
cd "$root"
install_podman_tools

if podman image exists "$VOLPRED_BASE_IMAGE"; then
    echo "base image: $VOLPRED_BASE_IMAGE (present)"
elif podman pull --quiet "$VOLPRED_BASE_IMAGE" >/dev/null 2>&1; then
    echo "base image: $VOLPRED_BASE_IMAGE (pulled)"
else
    echo "base image: $VOLPRED_BASE_IMAGE cannot be pulled; making it from Debian's packages"
    "$PODMAN_DIR/base-image.sh" "$VOLPRED_BASE_IMAGE"
fi

version="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)"
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then revision="$revision-dirty"; fi
name="${VOLPRED_IMAGE%:*}"
started=$(date +%s)
# --format docker: the OCI format has no HEALTHCHECK, the Docker one keeps it.
podman build --format docker \
    --build-arg VERSION="$version" --build-arg REVISION="$revision" \
    -t "$name:$version" -t "$name:latest" "$@" .
size=$(podman image inspect --format '{{.Size}}' "$name:latest")
echo "built $name:$version and $name:latest (revision $revision) in $(( $(date +%s) - started )) s," \
    "$(( size / 1000000 )) MB"
