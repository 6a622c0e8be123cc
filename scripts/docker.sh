#!/usr/bin/env bash
# Makes sure a Docker engine answers. When none does and we are root on Debian
# (CI, a fresh machine), installs docker.io and starts dockerd in the
# background; anywhere else it says what to install instead of guessing.
set -euo pipefail
cd "$(dirname "$0")/.."

LOG="${AQUEDUCT_DOCKERD_LOG:-$PWD/.cache/dockerd.log}"
WAIT_SECONDS=60

log() { printf 'docker: %s\n' "$*" >&2; }
die() { printf 'docker: error: %s\n' "$*" >&2; exit 1; }

if docker info >/dev/null 2>&1; then
	log "skip: the Docker engine answers (server $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
	exit 0
fi

# A remote engine is the user's to start, not ours.
if [ -n "${DOCKER_HOST:-}" ]; then
	die "no Docker engine answers at DOCKER_HOST=$DOCKER_HOST; start it, or unset DOCKER_HOST to use a local one"
fi

debian_like() {
	[ -r /etc/os-release ] || return 1
	# shellcheck disable=SC1091
	(. /etc/os-release && { [ "${ID:-}" = debian ] || [[ " ${ID_LIKE:-} " == *" debian "* ]]; })
}

if [ "$(id -u)" != 0 ] || ! debian_like || ! command -v apt-get >/dev/null; then
	die "no Docker engine answers. Install Docker (on Debian or Ubuntu: 'sudo apt-get install docker.io'; elsewhere Docker Engine or Docker Desktop), start it, and check that 'docker info' works; or point DOCKER_HOST at a running engine"
fi

if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
	log "installing docker.io from Debian"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends docker.io >/dev/null
else
	log "skip: docker.io is installed"
fi

pid=""
if pidof dockerd >/dev/null 2>&1 || pgrep -x dockerd >/dev/null 2>&1; then
	log "dockerd is running but not answering yet; waiting"
else
	mkdir -p "$(dirname "$LOG")"
	log "starting dockerd in the background (log: $LOG)"
	# setsid: dockerd outlives this script and make.
	setsid dockerd >>"$LOG" 2>&1 </dev/null &
	pid=$!
fi

for _ in $(seq "$WAIT_SECONDS"); do
	if docker info >/dev/null 2>&1; then
		log "the Docker engine answers"
		exit 0
	fi
	# Stop waiting as soon as the dockerd we started has exited.
	if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
		tail -n 20 "$LOG" >&2 || true
		die "dockerd exited at start; see $LOG"
	fi
	sleep 1
done
tail -n 20 "$LOG" >&2 || true
die "dockerd did not answer within ${WAIT_SECONDS}s; see $LOG"
