#!/usr/bin/env bash
# Create .venv and install acuity with everything it needs, offline-safe and idempotent.
# torch is installed first and pinned (the CPU wheel), so pip never pulls a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
TORCH_VERSION=2.13.0

if [ ! -x "$VENV/bin/python" ]; then
    echo "acuity setup: creating $VENV with $($PYTHON --version)"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

# Re-install only when the dependency list changed (the stamp holds pyproject.toml's hash).
stamp="$VENV/.acuity-installed"
want=$(sha256sum pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
echo "acuity setup: installing torch==$TORCH_VERSION (CPU) and acuity[dev] into $VENV"
"${PIP[@]}" install "torch==$TORCH_VERSION"
"${PIP[@]}" install -e ".[dev]"
echo "$want" > "$stamp"
