#!/usr/bin/env bash
# make demo: the quickstart ML pipeline (examples/quickstart) on the local AWS
# emulator, from a machine with only Go.
#
#   scripts/demo.sh          run it all and tear down what it started
#   KEEP=1 scripts/demo.sh   leave the pipeline and the emulator running
#   scripts/demo.sh down     tear down what a KEEP=1 run left
#
# AQUEDUCT_DEMO_ADDR (default 127.0.0.1:4566) is the emulator's address; an
# emulator already answering there is reused and left running.
#
# What makes a second run fast: every install step checks first, Docker keeps
# the build cache, and the emulator keeps its registry's blobs in
# .cache/demo/emulator, so pushes send only the small operator layers.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ADDR=${AQUEDUCT_DEMO_ADDR:-127.0.0.1:4566}
ENDPOINT=http://$ADDR
KEEP=${KEEP:-0}
DEMO=$ROOT/.cache/demo
DATA=$DEMO/emulator
PIDFILE=$DEMO/emulator.pid
EMULATOR_LOG=$DEMO/emulator.log
STATE=$DEMO/terraform.tfstate
# A working copy of examples/quickstart, so the demo can edit an operator
# without touching the repository.
QUICKSTART=$DEMO/quickstart
BUCKET=aqueduct-quickstart
ROLE=aqueduct-quickstart-exec
ORCH_ROLE=aqueduct-quickstart-orchestration
STEPS=11

step_no=0
step_start=0
demo_start=$(date +%s%N)
started_emulator=0

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
secs() { printf '%d.%01ds' $(($1 / 1000)) $((($1 % 1000) / 100)); }
end_step() {
	if [ "$step_no" -gt 0 ]; then
		printf '    (%s)\n' "$(secs "$(ms_since "$step_start")")"
	fi
}
step() {
	end_step
	step_no=$((step_no + 1))
	step_start=$(date +%s%N)
	printf '\n==> [%d/%d] %s\n' "$step_no" "$STEPS" "$*"
}
say() { printf '    %s\n' "$*"; }
die() {
	printf 'demo: error: %s\n' "$*" >&2
	exit 1
}

# The demo never touches a real AWS account or the user's profiles.
aws_env() {
	unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
	export AWS_ENDPOINT_URL=$ENDPOINT AWS_REGION=us-east-1 \
		AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
		AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
}

# Terraform takes the provider from bin/ through dev_overrides, so there is
# no registry to reach and no 'terraform init' to run.
terraform_env() {
	mkdir -p "$DEMO"
	cat >"$DEMO/terraformrc" <<EOF
provider_installation {
  dev_overrides {
    "registry.terraform.io/aqueduct/aqueduct" = "$ROOT/bin"
  }
  direct {}
}
EOF
	TERRAFORM=$(scripts/tools.sh terraform-path)
	export TF_CLI_CONFIG_FILE=$DEMO/terraformrc TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
	export TF_VAR_bucket=$BUCKET
	export AQUEDUCT_RIE_PATH=$ROOT/bin/aws-lambda-rie
}

tf() { "$TERRAFORM" -chdir="$QUICKSTART" "$@"; }

# quiet runs a noisy command with its output in a log, shown on failure.
quiet() {
	local log=$1
	shift
	if ! "$@" >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "'$*' failed; the full log is $log"
	fi
}

# seed creates the roles and the bucket; the orchestration role reaches
# terraform as TF_VAR_orchestration_role_arn.
seed() {
	local arns
	arns=$(bin/emulatorctl seed -endpoint "$ENDPOINT" -bucket "$BUCKET" -role "$ROLE" -orchestration-role "$ORCH_ROLE")
	ROLE_ARN=$(sed -n 1p <<<"$arns")
	export TF_VAR_orchestration_role_arn
	TF_VAR_orchestration_role_arn=$(sed -n 2p <<<"$arns")
}

healthy() { bin/emulatorctl wait -endpoint "$ENDPOINT" -timeout 1s >/dev/null 2>&1; }

# our_emulator: the pid file names a live emulator that this script started.
our_emulator() {
	local pid
	[ -f "$PIDFILE" ] && pid=$(cat "$PIDFILE") && kill -0 "$pid" 2>/dev/null &&
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$ROOT/bin/aqueduct-emulator" ]
}

start_emulator() {
	if healthy; then
		if our_emulator; then
			started_emulator=1
			say "skip: the emulator from an earlier run answers at $ENDPOINT"
		else
			say "skip: an emulator already answers at $ENDPOINT; using it and leaving it running"
		fi
		return
	fi
	if (exec 3<>"/dev/tcp/${ADDR%:*}/${ADDR##*:}") 2>/dev/null; then
		die "something that is not the emulator listens on $ADDR; stop it, or set AQUEDUCT_DEMO_ADDR to a free address"
	fi
	mkdir -p "$DATA"
	say "starting the emulator on $ENDPOINT (state in .cache/demo/emulator, log in .cache/demo/emulator.log)"
	# setsid: with KEEP=1 it outlives this script and make.
	setsid bin/aqueduct-emulator -addr "$ADDR" -data "$DATA" -rie "$ROOT/bin/aws-lambda-rie" \
		>>"$EMULATOR_LOG" 2>&1 </dev/null &
	echo $! >"$PIDFILE"
	started_emulator=1
	if ! bin/emulatorctl wait -endpoint "$ENDPOINT" -timeout 60s; then
		tail -n 20 "$EMULATOR_LOG" >&2
		die "the emulator did not become healthy; see $EMULATOR_LOG"
	fi
}

stop_emulator() {
	if [ "$started_emulator" = 1 ] && our_emulator; then
		local pid
		pid=$(cat "$PIDFILE")
		kill "$pid"
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		rm -f "$PIDFILE"
		say "stopped the emulator (pid $pid); its registry cache stays in .cache/demo/emulator"
	else
		say "left the emulator at $ENDPOINT running: this script did not start it"
	fi
}

teardown() {
	[ -d "$QUICKSTART" ] || cp -R "$ROOT/examples/quickstart" "$QUICKSTART"
	if [ -f "$STATE" ]; then
		say "terraform destroy"
		quiet "$DEMO/destroy.log" tf destroy -no-color -auto-approve -state="$STATE" -var role_arn="$ROLE_ARN"
	fi
	bin/emulatorctl unseed -endpoint "$ENDPOINT" -bucket "$BUCKET" -role "$ROLE" -orchestration-role "$ORCH_ROLE" 2>&1 | sed 's/^/    /'
	stop_emulator
}

on_error() {
	local rc=$?
	printf '\ndemo: failed in step %d (exit %d).\n' "$step_no" "$rc" >&2
	[ -f "$EMULATOR_LOG" ] && printf 'demo: emulator log: %s\n' "$EMULATOR_LOG" >&2
	if [ "$KEEP" != 1 ] && [ "$started_emulator" = 1 ] && our_emulator; then
		kill "$(cat "$PIDFILE")" 2>/dev/null || true
		rm -f "$PIDFILE"
		printf 'demo: stopped the emulator; its state stays in .cache/demo, so a rerun picks up where this one stopped\n' >&2
	fi
	exit "$rc"
}

build_binaries() {
	mkdir -p bin
	go build -ldflags "-X main.version=demo" -o bin/terraform-provider-aqueduct .
	go build -o bin/aqueduct-emulator ./internal/emulator/cmd/aqueduct-emulator
	go build -o bin/emulatorctl ./scripts/emulatorctl
}

down() {
	STEPS=2
	step "Start the emulator to tear down against"
	build_binaries
	aws_env
	terraform_env
	start_emulator
	seed 2>/dev/null
	step "Tear down: destroy the pipeline, remove the role and bucket, stop the emulator"
	started_emulator=1
	teardown
	rm -f "$STATE" "$STATE.backup"
	end_step
}

main() {
	trap on_error ERR
	if [ "${1:-}" = down ]; then
		down
		return
	fi
	[ $# -eq 0 ] || die "unknown argument '$1': use no argument, or 'down'"

	step "Docker engine"
	scripts/docker.sh 2>&1 | sed 's/^/    /'

	step "Tools: terraform >= 1.5 and the Lambda Runtime Interface Emulator in bin/"
	scripts/tools.sh terraform 2>&1 | sed 's/^/    /'
	scripts/tools.sh rie 2>&1 | sed 's/^/    /'

	step "Build the provider, the emulator and emulatorctl into bin/"
	build_binaries
	say "bin/terraform-provider-aqueduct, bin/aqueduct-emulator, bin/emulatorctl"

	step "Base image aqueduct-local/python-ml:3.11 (Debian's Python, NumPy and scikit-learn)"
	scripts/base-image.sh ml 2>&1 | sed 's/^/    /'

	step "Local AWS emulator (Lambda, ECR, S3, IAM, STS, Step Functions, EventBridge Scheduler)"
	aws_env
	start_emulator

	step "What a user brings: the Lambda execution role, the orchestration role and the S3 bucket"
	seed 2> >(sed 's/^/    /' >&2)
	say "role_arn = $ROLE_ARN"
	say "orchestration_role_arn = $TF_VAR_orchestration_role_arn"
	say "bucket = $BUCKET"

	step "terraform apply examples/quickstart: build and push 5 images, create 5 functions, run the pipeline on Step Functions"
	rm -rf "$QUICKSTART"
	cp -R "$ROOT/examples/quickstart" "$QUICKSTART"
	terraform_env
	local before after
	before=$(bin/emulatorctl invocations -endpoint "$ENDPOINT")
	quiet "$DEMO/apply.log" tf apply -no-color -auto-approve -state="$STATE" -var role_arn="$ROLE_ARN"
	grep -E '(Creation|Modifications|Read) complete' "$DEMO/apply.log" | sed 's/^/    /'
	after=$(bin/emulatorctl invocations -endpoint "$ENDPOINT")
	say "Lambda invocations: $((after - before)) (5 operators, and the last Task, which writes the run record)"
	echo
	tf output -state="$STATE" | sed 's/^/    /'
	echo
	say "best model: $(tf output -state="$STATE" -raw best_model), accuracy $(tf output -state="$STATE" -raw accuracy), executed on $(tf output -state="$STATE" -raw executor)"
	local full_ms
	full_ms=$(tf output -state="$STATE" -raw run_duration_ms)

	step "A second terraform plan: empty, and the run is reused, not invoked again"
	local rc=0
	tf plan -no-color -detailed-exitcode -state="$STATE" -var role_arn="$ROLE_ARN" -out="$DEMO/replan.tfplan" >"$DEMO/replan.log" 2>&1 || rc=$?
	case $rc in
	0) say "terraform plan -detailed-exitcode: exit 0, no changes" ;;
	2)
		cat "$DEMO/replan.log" >&2
		die "the second plan is not empty (exit 2); that is a bug: please report it with the plan above"
		;;
	*)
		tail -n 40 "$DEMO/replan.log" >&2
		die "terraform plan failed (exit $rc); see $DEMO/replan.log"
		;;
	esac
	# The plan refreshed the data source; its value says how the run was had.
	if tf show -json "$DEMO/replan.tfplan" | grep -q '"reused":true'; then
		say "data.aqueduct_invocation.train: reused = true (read back from $(tf output -state="$STATE" -raw run_uri))"
	else
		die "the second plan did not reuse the run: data.aqueduct_invocation.train.reused is not true"
	fi
	local again
	again=$(bin/emulatorctl invocations -endpoint "$ENDPOINT")
	[ "$again" = "$after" ] || die "the second plan invoked $((again - after)) functions; a reused run invokes none"
	say "Lambda invocations during the plan: 0 (total still $again)"

	step "Edit evaluate and apply: only evaluate runs again, the rest comes from the cache"
	printf '\n# Edited by make demo at %s: a new lineage for evaluate alone.\n' "$(date +%s%N)" >>"$QUICKSTART/operators/evaluate/evaluate.py"
	before=$(bin/emulatorctl invocations -endpoint "$ENDPOINT")
	quiet "$DEMO/incremental.log" tf apply -no-color -auto-approve -state="$STATE" -var role_arn="$ROLE_ARN"
	grep -E '(Modifications|Read) complete' "$DEMO/incremental.log" | sed 's/^/    /'
	after=$(bin/emulatorctl invocations -endpoint "$ENDPOINT")
	local inc_ms
	inc_ms=$(tf output -state="$STATE" -raw run_duration_ms)
	say "operators invoked: $(tf output -state="$STATE" -raw invoked) of 5 (Lambda invocations: $((after - before)): evaluate, and the record Task)"
	say "run wall time: $(secs "$inc_ms") after the edit, against $(secs "$full_ms") for the full run"
	[ "$((after - before))" = 2 ] || die "editing evaluate made $((after - before)) Lambda invocations; an incremental run invokes evaluate alone, and the record Task"

	step "Schedule a retrain a few seconds ahead; EventBridge Scheduler fires it on Step Functions"
	local at machine runs
	at=$(date -u -d '+15 seconds' '+%Y-%m-%dT%H:%M:%S')
	export TF_VAR_schedule="at($at)"
	quiet "$DEMO/schedule.log" tf apply -no-color -auto-approve -state="$STATE" -var role_arn="$ROLE_ARN"
	grep -E 'aqueduct_schedule.retrain.*Creation complete' "$DEMO/schedule.log" | sed 's/^/    /'
	machine=$(tf output -state="$STATE" -raw schedule_state_machine)
	say "schedule_expression = $TF_VAR_schedule (UTC); waiting for it to fire and its run to finish"
	before=$(bin/emulatorctl invocations -endpoint "$ENDPOINT")
	runs=$(bin/emulatorctl executions -endpoint "$ENDPOINT" -state-machine "$machine" -timeout 90s)
	after=$(bin/emulatorctl invocations -endpoint "$ENDPOINT")
	say "execution $runs (Lambda invocations: $((after - before)), every operator: a scheduled run reruns)"
	quiet "$DEMO/runs.log" tf apply -refresh-only -no-color -auto-approve -state="$STATE" -var role_arn="$ROLE_ARN"
	tf output -state="$STATE" scheduled_runs | sed 's/^/    /'
	tf output -state="$STATE" -json scheduled_runs | grep -q '"status":"succeeded"' || die "the scheduled run is not listed as succeeded by data.aqueduct_schedule_runs"

	if [ "$KEEP" = 1 ]; then
		step "KEEP=1: leaving the pipeline and the emulator running"
		cat <<EOF
    Try it:
      export TF_CLI_CONFIG_FILE=$DEMO/terraformrc AWS_ENDPOINT_URL=$ENDPOINT AWS_REGION=us-east-1 \\
        AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test TF_VAR_bucket=$BUCKET TF_VAR_role_arn=$ROLE_ARN \\
        TF_VAR_orchestration_role_arn=$TF_VAR_orchestration_role_arn TF_VAR_schedule='$TF_VAR_schedule'
      $TERRAFORM -chdir=$QUICKSTART plan -state=$STATE -var seed=0
    Tear down with: scripts/demo.sh down
EOF
	else
		step "Tear down: destroy the pipeline, remove the role and bucket, stop the emulator"
		teardown
		rm -f "$STATE" "$STATE.backup" "$DEMO/replan.tfplan"
	fi
	end_step
	printf '\n==> demo done in %s\n' "$(secs "$(ms_since "$demo_start")")"
}

main "$@"
