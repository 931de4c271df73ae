#!/usr/bin/env bash
# Re-resolve requirements.lock, the exact versions ./dev installs, from pyproject.toml:
#
#     scripts/lock.sh                  # after changing a dependency in pyproject.toml
#     scripts/lock.sh --upgrade        # move every package to its newest allowed version
#
# torch stays out of the lock: ./dev installs it first as torch==$TORCH_VERSION (2.13.0), the CPU
# build pip finds in its find-links (this machine's /opt/wheels), and GPU hosts bring their own
# CUDA build. The lock is resolved against that same CPU wheel, so the dependencies of torch it
# pins are the CPU build's (no nvidia-* CUDA packages).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
torch="torch==${TORCH_VERSION:-2.13.0}"
links=()
for dir in $("$PY" -m pip config get global.find-links 2>/dev/null || true) ${PIP_FIND_LINKS:-}; do
    links+=(--find-links "$dir")
done
"$PY" -m uv pip compile pyproject.toml --extra dev \
    --python "$PY" "${links[@]}" \
    --constraint <(echo "$torch") --no-emit-package torch \
    --custom-compile-command "scripts/lock.sh" \
    --quiet -o requirements.lock "$@"
if grep -qiE '^(nvidia-|triton==)' requirements.lock; then
    echo "!! requirements.lock pulls CUDA packages: the CPU build of $torch was not found" >&2
    exit 1
fi
echo "requirements.lock: $(grep -c '==' requirements.lock) packages pinned ($torch installed first, apart)"
