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

# --- System tools of the report and PACS tests (acuity/report, issue #7; tests/serve) ------
# tests/report renders report.html in headless Chromium (Debian package `chromium`) and
# validates the DICOM SR/SEG/key image with dciodvfy (Debian package `dicom3tools`).
# tests/serve/test_orthanc.py runs a real PACS, Orthanc (Debian package `orthanc`), on loopback;
# the tests start their own instance: the package's service need not (and in a container
# usually cannot) start, so RUNLEVEL=1 asks invoke-rc.d not to start it.
# Installed only when missing and apt-get is there, non-interactively; ACUITY_SKIP_APT=1 skips.
# Without them those tests skip (and fail when CI=true).
apt_missing=()
if ! command -v chromium >/dev/null 2>&1; then apt_missing+=(chromium fonts-dejavu-core); fi
if ! command -v dciodvfy >/dev/null 2>&1; then apt_missing+=(dicom3tools); fi
if ! command -v Orthanc >/dev/null 2>&1 && [ ! -x /usr/sbin/Orthanc ]; then apt_missing+=(orthanc); fi
if [ ${#apt_missing[@]} -gt 0 ] && [ -z "${ACUITY_SKIP_APT:-}" ] && command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
    fi
    if [ "$SUDO" = "none" ]; then
        echo "acuity setup: not root; to run every report and PACS test: apt-get install -y ${apt_missing[*]}" >&2
    else
        echo "acuity setup: installing ${apt_missing[*]} with apt-get"
        apt_install() {
            $SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -q --no-install-recommends "${apt_missing[@]}"
        }
        if ! { apt_install || { $SUDO apt-get update -q && apt_install; }; }; then
            echo "acuity setup: could not install ${apt_missing[*]}; the tests needing them skip" >&2
        fi
    fi
fi
# --- end of the tests' system tools -----------------------------------------------------------

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
