#!/usr/bin/env bash
# Builds the local Python base images from the machine's own Debian mirror, for
# machines that cannot pull from a registry:
#
#   scripts/base-image.sh [plain]   aqueduct-local/python:3.11      python3, ca-certificates
#   scripts/base-image.sh ml        aqueduct-local/python-ml:3.11   plus numpy, scikit-learn (scipy, joblib)
#
# debootstrap (minbase) fills a temporary root; for ml, apt inside it adds the
# ML packages. The root is trimmed and handed to 'docker import'. An image that already exists is left alone; remove it
# ('docker rmi IMAGE') to rebuild. AQUEDUCT_DEBIAN_MIRROR overrides the mirror.
set -euo pipefail
cd "$(dirname "$0")/.."

# The tag promises Python 3.11, which is Debian 12's python3.
SUITE=bookworm
PYTHON=3.11
BASE_PACKAGES=python3,ca-certificates
ML_PACKAGES="python3-numpy python3-sklearn"
CACHE="$PWD/.cache/debootstrap"

log() { printf 'base-image: %s\n' "$*" >&2; }
die() { printf 'base-image: error: %s\n' "$*" >&2; exit 1; }

case "${1:-plain}" in
plain) IMAGE=aqueduct-local/python:$PYTHON ml=false check='import json, urllib.request, pickle, ssl' ;;
ml)
	IMAGE=aqueduct-local/python-ml:$PYTHON ml=true
	check='import json, urllib.request, pickle, ssl, numpy, scipy, joblib, sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
assert LogisticRegression(max_iter=500).fit(X, y).score(X, y) > 0.9'
	;;
*) die "unknown variant '$1': use plain or ml" ;;
esac

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
	log "skip: $IMAGE exists"
	exit 0
fi
docker info >/dev/null 2>&1 || die "no Docker engine answers; run 'make docker' first"

# host_codename is this machine's Debian release, which names its mirror's suite.
host_codename() {
	# shellcheck disable=SC1091
	(. /etc/os-release && printf '%s\n' "${VERSION_CODENAME:-}")
}

# apt_mirror prints the first enabled 'deb' URI that serves suite $1, from the
# deb822 .sources files first, then the one-line .list files.
apt_mirror() {
	local suite=$1 f
	shopt -s nullglob
	for f in /etc/apt/sources.list.d/*.sources; do
		awk -v suite="$suite" '
			BEGIN { RS = ""; FS = "\n" }
			{
				types = ""; suites = ""; uris = ""; enabled = "yes"
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^#/) continue
					split($i, kv, ":"); key = tolower(kv[1]); val = substr($i, index($i, ":") + 1)
					gsub(/^[ \t]+|[ \t]+$/, "", val)
					if (key == "types") types = " " val " "
					else if (key == "suites") suites = " " val " "
					else if (key == "uris") uris = val
					else if (key == "enabled") enabled = tolower(val)
				}
				if (enabled != "no" && types ~ / deb / && suites ~ (" " suite " ") && uris != "") {
					split(uris, u, /[ \t]+/); print u[1]; exit
				}
			}' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		# deb [options] URI SUITE COMPONENTS...
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2; exit }'
	done
}

if ! command -v debootstrap >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "installing debootstrap from Debian"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
	else
		die "debootstrap is missing: install it as root ('apt-get install debootstrap'), or build $IMAGE another way"
	fi
fi
[ "$(id -u)" = 0 ] || die "debootstrap needs root to build $IMAGE"

codename=$(host_codename)
mirror=${AQUEDUCT_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
	[ -n "$codename" ] || die "cannot tell this machine's Debian release from /etc/os-release; set AQUEDUCT_DEBIAN_MIRROR"
	mirror=$(apt_mirror "$codename" | head -n1)
	[ -n "$mirror" ] || die "no apt source serves '$codename' in /etc/apt/sources.list{,.d/}; set AQUEDUCT_DEBIAN_MIRROR to a Debian mirror"
fi
if [ "$codename" != "$SUITE" ]; then
	log "this machine is Debian '$codename'; Python $PYTHON is in '$SUITE', which the same mirror serves"
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/aqueduct-base.XXXXXX")
# mktemp makes it 0700; apt in the root (as _apt) and the image need 0755.
chmod 755 "$root"
cleanup() {
	# debootstrap mounts /proc and /sys inside the root; never delete through them.
	local m
	awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r m; do umount -l "$m" || true; done
	rm -rf --one-file-system "$root" "$root.log"
}
trap cleanup EXIT

start=$SECONDS
mkdir -p "$CACHE"
log "building $IMAGE: debootstrap $SUITE from $mirror (packages cached in .cache/debootstrap)"
if ! debootstrap --variant=minbase --components=main --include="$BASE_PACKAGES" --cache-dir="$CACHE" \
	"$SUITE" "$root" "$mirror" >"$root.log" 2>&1; then
	tail -n 30 "$root.log" >&2
	tail -n 30 "$root/debootstrap/debootstrap.log" >&2 2>/dev/null || true
	die "debootstrap failed (log above)"
fi
rm -f "$root.log"
[ -x "$root/usr/bin/python$PYTHON" ] || die "'$SUITE' from $mirror did not give python$PYTHON"

# stand_in_pythran installs an empty python3-pythran, held. Debian 12's SciPy
# depends on Pythran, a compiler that drags in gcc, g++ and Boost headers
# (about 500 MB) and is not used at run time.
stand_in_pythran() {
	local d="$root/tmp/pythran-stand-in"
	mkdir -p "$d/DEBIAN"
	cat >"$d/DEBIAN/control" <<'EOF'
Package: python3-pythran
Version: 0~aqueduct1
Architecture: all
Maintainer: terraform-provider-aqueduct <noreply@localhost>
Priority: optional
Section: python
Description: empty stand-in for Pythran in aqueduct-local/python-ml
 SciPy needs Pythran only to compile its extensions, so this image leaves
 Pythran and its toolchain out. Remove the hold to install the real one.
EOF
	dpkg-deb --root-owner-group --build "$d" "$root/tmp/pythran-stand-in.deb" >/dev/null
	chroot "$root" dpkg -i /tmp/pythran-stand-in.deb >/dev/null
	chroot "$root" apt-mark hold python3-pythran >/dev/null
}

if $ml; then
	log "adding $ML_PACKAGES with apt in the new root"
	mount -t proc proc "$root/proc"
	stand_in_pythran
	# shellcheck disable=SC2086 # word-split on purpose: a package list
	if ! { chroot "$root" apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends $ML_PACKAGES; } >"$root.log" 2>&1; then
		tail -n 30 "$root.log" >&2
		die "apt-get in the new root failed (log above)"
	fi
	chroot "$root" apt-get clean
	umount "$root/proc"
fi

# Lean: no package lists, caches, docs (but the copyright files), man pages,
# translations or logs; and dpkg skips them in anything installed on top, as
# in Debian's slim images.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
	"$root"/var/cache/debconf/*-old "$root"/var/log/* "$root"/tmp/* \
	"$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/usr/share/lintian
find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
cat >"$root/etc/dpkg/dpkg.cfg.d/aqueduct-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF

tar -C "$root" --numeric-owner -c . | docker import \
	--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	--change 'ENV LANG=C.UTF-8' \
	--change 'ENV PYTHONUNBUFFERED=1' \
	--change "LABEL org.opencontainers.image.description=\"Debian $SUITE minbase with python$PYTHON, built by terraform-provider-aqueduct\"" \
	--change 'CMD ["python3"]' \
	- "$IMAGE" >/dev/null

if ! docker run --rm --network none "$IMAGE" python3 -c "$check"; then
	docker rmi "$IMAGE" >/dev/null || true
	die "$IMAGE cannot run: python3 -c '$check'"
fi
size=$(docker image inspect --format '{{.Size}}' "$IMAGE")
log "built $IMAGE in $((SECONDS - start))s ($((size / 1024 / 1024)) MB)"
