#!/usr/bin/env bash
# Fails when the real infrastructure differs from the Terraform configuration:
# an operator's memory changed in the console, a function deleted by hand, a
# configuration change not applied yet.
#
#   check-drift.sh [DIR] [terraform plan arguments...]
#
# DIR is an initialised Terraform working directory (default: .). Extra
# arguments go to 'terraform plan', e.g. -var-file=prod.tfvars. TERRAFORM
# names the binary (default: terraform).
#
# Exit status: 0 no drift; 2 drift, with the resources that differ listed;
# 1 the plan itself failed (credentials, syntax, ...), which is not drift.
set -euo pipefail

dir=${1:-.}
[ $# -gt 0 ] && shift
TERRAFORM=${TERRAFORM:-terraform}

work=$(mktemp -d "${TMPDIR:-/tmp}/check-drift.XXXXXX")
trap 'rm -rf "$work"' EXIT

# -lock=false: a read-only check must not block, or be blocked by, an apply.
rc=0
"$TERRAFORM" -chdir="$dir" plan -detailed-exitcode -input=false -lock=false -no-color "$@" \
	>"$work/plan.log" 2>&1 || rc=$?

case $rc in
0)
	echo "check-drift: no drift in $dir: the infrastructure matches the configuration."
	exit 0
	;;
2) ;;
*)
	cat "$work/plan.log" >&2
	echo "check-drift: error: terraform plan failed (exit $rc) in $dir; this is not drift, fix the plan first." >&2
	exit 1
	;;
esac

# The plan names each resource that changed outside Terraform ('has
# changed', 'has been deleted') and each that the next apply would change;
# one line per resource, with every reason. A data source read at apply
# time is a consequence, not a difference.
mapfile -t changed < <(sed -n -E 's/^ *# ([^ ]+) (has changed|has been deleted|will be [a-z-]+|must be [a-z]+).*/\1\t\2/p' "$work/plan.log" |
	grep -v $'\twill be read' |
	awk -F'\t' '!($1 in why) { order[n++] = $1; why[$1] = $2; next } index(why[$1], $2) == 0 { why[$1] = why[$1] "; " $2 }
		END { for (i = 0; i < n; i++) print order[i] " (" why[order[i]] ")" }')

cat "$work/plan.log"
echo
echo "check-drift: DRIFT in $dir: ${#changed[@]} resource(s) differ from the configuration:"
for c in "${changed[@]}"; do
	echo "  - $c"
done
echo "check-drift: run 'terraform apply' to restore the configuration, or change the configuration to match."

# On GitHub Actions, also in the job summary.
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	{
		echo "### Terraform drift in \`$dir\`"
		for c in "${changed[@]}"; do echo "- \`${c%% *}\` ${c#* }"; done
	} >>"$GITHUB_STEP_SUMMARY"
fi
exit 2
