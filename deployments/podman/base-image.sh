#!/usr/bin/env bash
# Makes the base image the Dockerfile names (python:3.11-slim-bookworm) from Debian's own
# packages, for machines that reach Debian's archive but no container registry. It behaves
# like the official image where the build relies on it: `python` and `pip` in /usr/local/bin,
# pip allowed to install system-wide (no EXTERNALLY-MANAGED marker), and the host's extra CA
# certificates (/usr/local/share/ca-certificates/*.crt) trusted, by pip through the system
# store and by uv through SSL_CERT_FILE. Its Python is Debian's 3.11.2, not python.org's.
# Usage: base-image.sh [TAG]   (about 20 s and 60 MB)
set -euo pipefail
. "$(dirname "$0")/env.sh"
tag="${1:-$VOLPRED_BASE_IMAGE}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sources=()
# The host's own Debian sources (its mirror, if it has one), else Debian's defaults.
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [ -s "$f" ] && grep -q bookworm "$f"; then sources=("$f"); break; fi
done

cat > "$work/customize.sh" <<'HOOK'
#!/bin/sh
set -e
root="$1"
ln -sf /usr/bin/python3 "$root/usr/local/bin/python"
ln -sf /usr/bin/python3 "$root/usr/local/bin/python3"
ln -sf /usr/bin/pip3 "$root/usr/local/bin/pip"
ln -sf /usr/bin/pip3 "$root/usr/local/bin/pip3"
rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
for crt in /usr/local/share/ca-certificates/*.crt; do
    [ -f "$crt" ] && cp "$crt" "$root/usr/local/share/ca-certificates/"
done
chroot "$root" update-ca-certificates >/dev/null
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/usr/share/doc/* "$root"/usr/share/man/*
HOOK
chmod +x "$work/customize.sh"

mmdebstrap --quiet --variant=minbase \
    --include=python3,python3-pip,python3-venv,ca-certificates,netbase,tzdata \
    --customize-hook="$work/customize.sh \"\$1\"" \
    bookworm "$work/base.tar" "${sources[@]}"

podman import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    --message "Debian bookworm minbase with Python 3.11 (local stand-in for $tag)" \
    "$work/base.tar" "$tag" >/dev/null
echo "base image $tag made locally ($(podman image inspect --format '{{.Size}}' "$tag") bytes)"
