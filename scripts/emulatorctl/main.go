// Command emulatorctl drives the local AWS emulator for scripts (make demo)
// on a machine that may have nothing but Go: no curl, no AWS CLI.
//
//	emulatorctl wait        -endpoint URL [-timeout 60s]   until /_emulator/health answers
//	emulatorctl seed        -endpoint URL -bucket B -role R [-orchestration-role O]
//	emulatorctl unseed      -endpoint URL -bucket B -role R [-orchestration-role O]
//	emulatorctl invocations -endpoint URL                  total Lambda invocations so far
//	emulatorctl executions  -endpoint URL -state-machine ARN [-closed N] [-timeout 60s]
//
// seed creates, idempotently, what a user brings to the quickstart on AWS: a
// Lambda execution role and an S3 bucket, and for runs on Step Functions an
// orchestration role, through the unchanged AWS SDK clients, and prints the
// role ARNs on stdout, one per line. unseed empties and removes the bucket
// and removes the roles. executions waits until a state machine has N
// closed executions (default 1) and prints each as "name status".
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/fixtures"
)

const usage = "usage: emulatorctl wait|seed|unseed|invocations|executions -endpoint URL [flags]"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "emulatorctl:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New(usage)
	}
	cmd := args[0]
	fs := flag.NewFlagSet("emulatorctl "+cmd, flag.ContinueOnError)
	endpoint := fs.String("endpoint", "http://127.0.0.1:4566", "emulator URL")
	region := fs.String("region", "us-east-1", "region")
	bucket := fs.String("bucket", "", "S3 bucket (seed, unseed)")
	role := fs.String("role", "", "IAM role name (seed, unseed)")
	orchestration := fs.String("orchestration-role", "", "IAM role name for Step Functions and EventBridge Scheduler (seed, unseed)")
	machine := fs.String("state-machine", "", "state machine ARN (executions)")
	closed := fs.Int("closed", 1, "closed executions to wait for (executions)")
	timeout := fs.Duration("timeout", 60*time.Second, "how long wait waits")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	u, err := url.Parse(*endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("-endpoint %q is not a URL like http://127.0.0.1:4566", *endpoint)
	}
	base := strings.TrimSuffix(*endpoint, "/")

	switch cmd {
	case "wait":
		return waitHealthy(base, *timeout)
	case "invocations":
		n, err := invocations(base)
		if err != nil {
			return err
		}
		fmt.Println(n)
		return nil
	case "seed", "unseed", "executions":
	default:
		return fmt.Errorf("unknown command %q; %s", cmd, usage)
	}
	if cmd != "executions" && (*bucket == "" || *role == "") {
		return errors.New("-bucket and -role are required")
	}
	// Never seed or unseed a real account by accident.
	if err := getJSON(base+"/_emulator/health", &struct{}{}); err != nil {
		return fmt.Errorf("%s is not an aqueduct emulator: %w", base, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute+*timeout)
	defer cancel()
	cfg := aws.Config{
		Region:       *region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(base),
	}
	if cmd == "executions" {
		if *machine == "" {
			return errors.New("-state-machine is required")
		}
		return waitExecutions(ctx, sfn.NewFromConfig(cfg), *machine, *closed, *timeout)
	}
	c := fixtures.New(cfg)
	if cmd == "unseed" {
		switch n, err := c.DeleteBucket(ctx, *bucket); {
		case err != nil:
			return err
		case n < 0:
			fmt.Fprintf(os.Stderr, "emulatorctl: skip: bucket %s is gone\n", *bucket)
		default:
			fmt.Fprintf(os.Stderr, "emulatorctl: deleted bucket %s and its %d objects\n", *bucket, n)
		}
		for _, r := range []string{*role, *orchestration} {
			if r == "" {
				continue
			}
			deleted, err := c.DeleteRole(ctx, r)
			if err != nil {
				return err
			}
			say(deleted, "deleted role %s", "skip: role %s is gone", r)
		}
		return nil
	}
	arn, created, err := c.EnsureRole(ctx, *role)
	if err != nil {
		return err
	}
	say(created, "created role %s", "skip: role %s exists", *role)
	created, err = c.EnsureBucket(ctx, *bucket)
	if err != nil {
		return err
	}
	say(created, "created bucket %s", "skip: bucket %s exists", *bucket)
	fmt.Println(arn)
	if *orchestration != "" {
		arn, created, err := c.EnsureOrchestrationRole(ctx, *orchestration)
		if err != nil {
			return err
		}
		say(created, "created role %s", "skip: role %s exists", *orchestration)
		fmt.Println(arn)
	}
	return nil
}

// waitExecutions waits until the state machine has n closed executions and
// prints them, newest first.
func waitExecutions(ctx context.Context, api *sfn.Client, machine string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		out, err := api.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
		if err != nil {
			return err
		}
		var done []sfntypes.ExecutionListItem
		for _, e := range out.Executions {
			if e.Status != sfntypes.ExecutionStatusRunning {
				done = append(done, e)
			}
		}
		if len(done) >= n {
			for _, e := range done {
				fmt.Printf("%s %s\n", aws.ToString(e.Name), strings.ToLower(string(e.Status)))
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s has %d closed executions after %s, want %d", machine, len(done), timeout, n)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// say reports on stderr what a step did, or that it skipped.
func say(did bool, done, skipped, name string) {
	msg := skipped
	if did {
		msg = done
	}
	fmt.Fprintf(os.Stderr, "emulatorctl: "+msg+"\n", name)
}

// waitHealthy polls the admin health endpoint until it answers.
func waitHealthy(base string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var h struct{ Status string }
		err := getJSON(base+"/_emulator/health", &h)
		if err == nil && h.Status == "running" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no healthy emulator at %s after %s: %v", base, timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// invocations sums the emulator's per-function invocation counts.
func invocations(base string) (int, error) {
	var counts map[string]int
	if err := getJSON(base+"/_emulator/invocations", &counts); err != nil {
		return 0, err
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n, nil
}

func getJSON(u string, v any) error {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}
