#!/usr/bin/env bash
# Installs the tools the repo needs into its own bin/ (git-ignored). Every step
# checks first, so a second run does nothing and says so.
#
#   scripts/tools.sh [all]          terraform (>= 1.5 from PATH, else built), tfplugindocs, aws-lambda-rie
#   scripts/tools.sh pinned         the same, but always bin/terraform 1.5.7 (CI)
#   scripts/tools.sh terraform | terraform-pinned | tfplugindocs | rie | tofu
#   scripts/tools.sh golangci-lint | goreleaser | actionlint
#   scripts/tools.sh release        golangci-lint, goreleaser and actionlint
#   scripts/tools.sh tofu           bin/tofu (OpenTofu, built from the module proxy)
#   scripts/tools.sh terraform-path prints the terraform binary to test with
#   scripts/tools.sh path-terraform prints a terraform >= 1.5 on PATH outside bin/, or fails
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="$PWD/bin"
TERRAFORM_VERSION=1.5.7
TFPLUGINDOCS_VERSION=v0.25.0
RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator
# Lint and release tools, built from the module proxy. Keep GOLANGCI_LINT_VERSION
# equal to the one in .github/workflows/test.yml (tests/release checks it).
GOLANGCI_LINT_VERSION=v2.15.0
GORELEASER_VERSION=v2.15.1
ACTIONLINT_VERSION=v1.7.12
TOFU_MODULE=github.com/opentofu/opentofu
TOFU_VERSION=1.10.10
# terraform otherwise phones home for update checks on every run.
export CHECKPOINT_DISABLE=1

log() { printf 'tools: %s\n' "$*" >&2; }
die() { printf 'tools: error: %s\n' "$*" >&2; exit 1; }

# modversion BINARY MODULE prints the version of MODULE a Go binary was built from.
# It prints nothing, and succeeds, when the binary is missing.
modversion() {
	local info
	info=$(go version -m "$1" 2>/dev/null) || return 0
	awk -v m="$2" '($1 == "mod" || $1 == "dep") && $2 == m && !seen { print $3; seen = 1 }' <<<"$info"
}

# path_terraform prints a terraform >= 1.5 found on PATH outside bin/, if any.
path_terraform() {
	local tf v
	tf=$(PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$BIN" | paste -sd: -) command -v terraform) || return 1
	v=$("$tf" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([0-9.]*\)".*/\1/p')
	[ -n "$v" ] || return 1
	# >= 1.5: major > 1, or major 1 and minor >= 5.
	awk -v v="$v" 'BEGIN { split(v, p, "."); exit !(p[1] > 1 || (p[1] == 1 && p[2] >= 5)) }' || return 1
	printf '%s %s\n' "$tf" "$v"
}

pinned_present() { [ -x "$BIN/terraform" ] && [ "$(modversion "$BIN/terraform" github.com/hashicorp/terraform)" = "v$TERRAFORM_VERSION" ]; }

terraform_pinned() {
	if pinned_present; then
		log "skip: bin/terraform is already $TERRAFORM_VERSION"
		return
	fi
	log "building terraform $TERRAFORM_VERSION into bin/ (a few minutes the first time)"
	GOBIN="$BIN" go install "github.com/hashicorp/terraform@v$TERRAFORM_VERSION"
	log "built bin/terraform $TERRAFORM_VERSION"
}

terraform_any() {
	local found
	if pinned_present; then
		log "skip: bin/terraform is already $TERRAFORM_VERSION"
	elif found=$(path_terraform); then
		log "skip: using terraform ${found#* } from ${found%% *}"
	else
		log "no terraform >= 1.5 on PATH"
		terraform_pinned
	fi
}

terraform_path() {
	local found
	if [ -x "$BIN/terraform" ]; then
		printf '%s\n' "$BIN/terraform"
	elif found=$(path_terraform); then
		printf '%s\n' "${found%% *}"
	else
		die "no terraform >= 1.5: run 'make tools'"
	fi
}

tfplugindocs() {
	if [ -x "$BIN/tfplugindocs" ] &&
		[ "$(modversion "$BIN/tfplugindocs" github.com/hashicorp/terraform-plugin-docs)" = "$TFPLUGINDOCS_VERSION" ]; then
		log "skip: bin/tfplugindocs is already $TFPLUGINDOCS_VERSION"
		return
	fi
	log "installing tfplugindocs $TFPLUGINDOCS_VERSION into bin/"
	GOBIN="$BIN" go install "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs@$TFPLUGINDOCS_VERSION"
}

# gotool NAME MODULE PACKAGE VERSION installs PACKAGE@VERSION as bin/NAME,
# unless bin/NAME was already built from MODULE at VERSION.
gotool() {
	local name=$1 mod=$2 pkg=$3 ver=$4 start=$SECONDS
	if [ -x "$BIN/$name" ] && [ "$(modversion "$BIN/$name" "$mod")" = "$ver" ]; then
		log "skip: bin/$name is already $ver"
		return
	fi
	log "building $name $ver into bin/"
	GOBIN="$BIN" go install "$pkg@$ver"
	log "built bin/$name $ver in $((SECONDS - start))s"
}

golangci_lint() {
	gotool golangci-lint github.com/golangci/golangci-lint/v2 \
		github.com/golangci/golangci-lint/v2/cmd/golangci-lint "$GOLANGCI_LINT_VERSION"
}

goreleaser() {
	gotool goreleaser github.com/goreleaser/goreleaser/v2 github.com/goreleaser/goreleaser/v2 "$GORELEASER_VERSION"
}

actionlint() {
	gotool actionlint github.com/rhysd/actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION"
}

# rie builds the Runtime Interface Emulator pinned as a go tool in go.mod. It is
# mounted into Linux containers, so it must be static (CGO off).
rie() {
	local want info=""
	want=$(go list -m -f '{{.Version}}' "$RIE_MODULE")
	[ -x "$BIN/aws-lambda-rie" ] && info=$(go version -m "$BIN/aws-lambda-rie" 2>/dev/null || true)
	# Up to date: same module version, same Go, static.
	if [ -n "$info" ] &&
		[ "$(modversion "$BIN/aws-lambda-rie" "$RIE_MODULE")" = "$want" ] &&
		[[ $info == *"CGO_ENABLED=0"* ]] &&
		[ "$(head -n1 <<<"$info" | awk '{print $2}')" = "$(go env GOVERSION)" ]; then
		log "skip: bin/aws-lambda-rie is up to date ($want)"
		return
	fi
	log "building bin/aws-lambda-rie $want"
	CGO_ENABLED=0 go build -trimpath -o "$BIN/aws-lambda-rie" "$RIE_MODULE/cmd/aws-lambda-rie"
}

tofu_version() {
	[ -x "$BIN/tofu" ] || return 0
	"$BIN/tofu" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([0-9.]*\)".*/\1/p'
}

# tofu builds OpenTofu from the Go module proxy. 'go install module@version'
# refuses it (its go.mod has replace directives), so build inside a writable
# copy of the module the proxy hands back; the module cache is read-only.
tofu() {
	if [ "$(tofu_version)" = "$TOFU_VERSION" ]; then
		log "skip: bin/tofu is already $TOFU_VERSION"
		return
	fi
	log "building bin/tofu $TOFU_VERSION (about 10 minutes on 2 cores)"
	local dir tmp
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	# Outside this module, so go.mod and go.sum stay as they are.
	dir=$(cd "$tmp" && go mod download -json "$TOFU_MODULE@v$TOFU_VERSION" | sed -n 's/^[[:space:]]*"Dir": *"\(.*\)",*$/\1/p')
	[ -d "$dir" ] || die "go mod download $TOFU_MODULE@v$TOFU_VERSION gave no module directory"
	cp -r "$dir" "$tmp/opentofu"
	chmod -R u+w "$tmp/opentofu"
	# dev=no: a release build, which reports 1.10.10 rather than 1.10.10-dev.
	(cd "$tmp/opentofu" && go build -trimpath -ldflags "-X github.com/opentofu/opentofu/version.dev=no" -o "$BIN/tofu" ./cmd/tofu)
	[ "$(tofu_version)" = "$TOFU_VERSION" ] || die "bin/tofu reports '$(tofu_version)', want $TOFU_VERSION"
	log "built bin/tofu $TOFU_VERSION"
}

mkdir -p "$BIN"
case "${1:-all}" in
all) terraform_any; tfplugindocs; rie ;;
pinned) terraform_pinned; tfplugindocs; rie ;;
terraform) terraform_any ;;
terraform-pinned) terraform_pinned ;;
terraform-path) terraform_path ;;
path-terraform) found=$(path_terraform) || die "no terraform >= 1.5 on PATH outside bin/"; printf '%s\n' "${found%% *}" ;;
tfplugindocs) tfplugindocs ;;
rie) rie ;;
golangci-lint) golangci_lint ;;
goreleaser) goreleaser ;;
actionlint) actionlint ;;
release) golangci_lint; goreleaser; actionlint ;;
tofu) tofu ;;
*) die "unknown step '$1': use all, pinned, terraform, terraform-pinned, terraform-path, path-terraform, tfplugindocs, rie, tofu, golangci-lint, goreleaser, actionlint or release" ;;
esac
