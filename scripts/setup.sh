#!/usr/bin/env bash
# Set up fijax on a fresh Debian machine: JDK + Maven (apt), the Python package and its
# dependencies (pip), the jars from Maven Central and the shim jar (fijax setup).
# Idempotent: a second run only checks what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v javac >/dev/null 2>&1 || need_apt+=(openjdk-17-jdk-headless)
command -v mvn   >/dev/null 2>&1 || need_apt+=(maven)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} (apt)"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
echo "setup: installing the fijax Python package and its dependencies (pip)"
"$PY" -m pip install -q --disable-pip-version-check -e ".[test,export]"
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true

echo "setup: resolving jars from Maven Central and building the shim jar"
"$PY" -m fijax setup
