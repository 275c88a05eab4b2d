#!/usr/bin/env bash
# Debian packages some tests need (Java 17 for Spark, Chromium for the report test).
# Installs only as root (CI, fresh machines); elsewhere it says what is missing and those tests skip.
set -euo pipefail

need_debian() {  # need_debian COMMAND PACKAGE...
    local command=$1; shift
    command -v "$command" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "system-deps: $command not found; as root: apt-get install $*" >&2
        return 0
    fi
    if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
need_debian chromium chromium
# Spark tests: Java 17 (openjdk's post-install step fails on slim images without this man directory).
[ "$(id -u)" -ne 0 ] || mkdir -p /usr/share/man/man1
need_debian java openjdk-17-jre-headless
