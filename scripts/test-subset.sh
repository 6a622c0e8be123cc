#!/usr/bin/env bash
# Runs the acceptance tests named in tests/opentofu/subset.txt, each in the
# package that defines it, on the CLI at $TF_ACC_TERRAFORM_PATH (OpenTofu's
# tofu or a terraform), and prints how long they took.
#
#   TF_ACC_TERRAFORM_PATH=bin/tofu scripts/test-subset.sh [go test flags]
set -euo pipefail
cd "$(dirname "$0")/.."

: "${TF_ACC_TERRAFORM_PATH:?set TF_ACC_TERRAFORM_PATH to the tofu or terraform to test}"
[ -x "$TF_ACC_TERRAFORM_PATH" ] || { echo "test-subset: $TF_ACC_TERRAFORM_PATH is not an executable" >&2; exit 1; }

names=$(grep -v '^[[:space:]]*\(#\|$\)' tests/opentofu/subset.txt)
pkgs=()
for n in $names; do
	files=$(grep -rlE --include='*_test.go' --exclude-dir=bin --exclude-dir='.*' "^func $n\(" . || true)
	[ -n "$files" ] || { echo "test-subset: no test function $n (tests/opentofu checks the list)" >&2; exit 1; }
	for f in $files; do pkgs+=("./$(dirname "${f#./}")"); done
done
mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
run="^($(paste -sd'|' <<<"$names"))\$"

version=$("$TF_ACC_TERRAFORM_PATH" version | head -n1)
echo "test-subset: $version: $(wc -w <<<"$names") tests in ${pkgs[*]}"
start=$(date +%s)
TF_ACC=1 TF_ACC_PROVIDER_NAMESPACE=aqueduct CHECKPOINT_DISABLE=1 \
	go test -count=1 -timeout 30m "$@" -run "$run" "${pkgs[@]}"
echo "test-subset: $version: passed in $(($(date +%s) - start)) s"
