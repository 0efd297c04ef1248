#!/usr/bin/env bash
# Set up fijax on a fresh machine: JDK + Maven (apt, when missing), the Python package and its
# dependencies (pip), the jars from Maven Central and the shim jar (fijax setup).
#
#   bash scripts/setup.sh           # what the demo and the CLI need
#   bash scripts/setup.sh --test    # + the test and export extras (pytest, StarDist, ONNX, ...)
#   bash scripts/setup.sh --gpu     # + JAX for CUDA 12 (automatic when nvidia-smi sees a GPU)
#
# Where the package goes (PEP 668 aware):
#   - an activated virtual environment or conda environment: installed there;
#   - an "externally managed" Python (Debian/Ubuntu system python3, PEP 668): a project venv .venv/
#     is created (python3-venv from apt when missing) and fijax is installed into it;
#   - any other Python (pyenv, python.org builds, containers): installed into that Python.
# The interpreter chosen is recorded in .fijax-python; scripts/python runs it, so the README's
# commands are the same everywhere. PYTHON=/path/to/python selects the base interpreter.
# Idempotent: a second run only checks what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=()
gpu=auto
for arg in "$@"; do
  case "$arg" in
    --test) extras+=(test export) ;;
    --gpu) gpu=yes ;;
    --no-gpu) gpu=no ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option $arg (use --test, --gpu, --no-gpu)" >&2; exit 2 ;;
  esac
done
if [ "$gpu" = auto ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then gpu=yes; else gpu=no; fi
fi
[ "$gpu" = yes ] && extras+=(gpu)

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
apt_install() {
  echo "setup: installing $* (apt)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

need_apt=()
command -v javac >/dev/null 2>&1 || need_apt+=(openjdk-17-jdk-headless)
command -v mvn   >/dev/null 2>&1 || need_apt+=(maven)
[ ${#need_apt[@]} -gt 0 ] && apt_install "${need_apt[@]}"

# The browser tests (tests/ui) drive Debian's Chromium headless through Playwright: with --test only,
# and only when no Chromium is there (the tests skip, saying why, without one).
if [[ " ${extras[*]-} " == *" test "* ]] && ! command -v chromium >/dev/null 2>&1 \
   && ! command -v chromium-browser >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  apt_install chromium || echo "setup: warning: could not install chromium; the browser tests will be skipped"
fi

base="${PYTHON:-python3}"
# kind: venv | conda | managed | plain
kind=$("$base" - <<'EOF'
import os, sys, sysconfig
if sys.prefix != sys.base_prefix:
    print("venv")
elif os.path.isdir(os.path.join(sys.prefix, "conda-meta")):
    print("conda")
elif os.path.isfile(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")):
    print("managed")
else:
    print("plain")
EOF
)
if [ "$kind" = managed ]; then
  if [ ! -x .venv/bin/python ]; then
    if ! "$base" -c "import ensurepip, venv" >/dev/null 2>&1; then
      ver=$("$base" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      apt_install "python${ver}-venv"
    fi
    echo "setup: $base is externally managed (PEP 668): creating the project venv .venv"
    rm -rf .venv
    "$base" -m venv .venv
  fi
  py="$PWD/.venv/bin/python"
else
  py=$("$base" -c "import sys; print(sys.executable)")
fi

spec="."
if [ ${#extras[@]} -gt 0 ]; then spec=".[$(IFS=,; echo "${extras[*]}")]"; fi
echo "setup: installing fijax${spec#.} into $py ($kind python) with pip"
"$py" -m pip install -q --disable-pip-version-check -e "$spec"
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
echo "$py" > .fijax-python

echo "setup: resolving jars from Maven Central and building the shim jar"
"$py" -m fijax setup
echo "setup: done. scripts/python runs $py (e.g. scripts/python -m fijax demo)"
if [ "$kind" = managed ]; then
  echo "setup: for the fijax command in this shell: source .venv/bin/activate"
fi
