# Sourced by the scripts beside it and by the Makefile's container targets: Podman reads the
# project's containers.conf (runc, ulimits this host allows) unless the caller chose another.
PODMAN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PODMAN_DIR/containers.conf}"
export VOLPRED_IMAGE="${VOLPRED_IMAGE:-localhost/volpred:latest}"
#: The base image the Dockerfile names; made locally only when no registry serves it.
export VOLPRED_BASE_IMAGE="${VOLPRED_BASE_IMAGE:-docker.io/library/python:3.11-slim-bookworm}"
#: The tools a fresh Debian 12 machine needs to build and run the image (and the base).
VOLPRED_PODMAN_PACKAGES="podman runc fuse-overlayfs slirp4netns uidmap mmdebstrap"

install_podman_tools() {
    local missing="" p
    for p in $VOLPRED_PODMAN_PACKAGES; do
        dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "apt-get install$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
    elif ! command -v podman >/dev/null 2>&1; then
        echo "error: podman is missing: apt-get install$missing (as root)" >&2
        return 1
    fi
}
