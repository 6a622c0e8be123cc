// Command aqueduct-emulator serves the local AWS emulator (Lambda, ECR and
// its registry, S3, IAM, STS) on one address until SIGINT or SIGTERM.
//
//	go run ./internal/emulator/cmd/aqueduct-emulator -addr 127.0.0.1:4566 [-data DIR]
//
// Point clients at it with AWS_ENDPOINT_URL=http://127.0.0.1:4566.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "aqueduct-emulator:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("aqueduct-emulator", flag.ContinueOnError)
	var (
		opts       emulator.Options
		services   string
		transition = -1
		jsonLog    bool
	)
	fs.StringVar(&opts.Addr, "addr", "127.0.0.1:4566", "listen address")
	fs.StringVar(&opts.DataDir, "data", "", "keep state in this directory across restarts (default: in memory)")
	fs.StringVar(&opts.Region, "region", "us-east-1", "emulated region")
	fs.Float64Var(&opts.Faults.ThrottleRate, "throttle-rate", 0, "share of requests, 0..1, answered with the service's throttling error")
	fs.Float64Var(&opts.Faults.ErrorRate, "error-rate", 0, "share of requests, 0..1, answered with a 500")
	fs.IntVar(&opts.Faults.LatencyMS, "latency-ms", 0, "latency added to every request, in milliseconds")
	fs.IntVar(&transition, "transition-delay-ms", -1, "how long Lambda functions stay Pending/InProgress, in milliseconds (default 200)")
	fs.StringVar(&services, "fault-services", "", "comma-separated services the faults apply to (lambda,ecr,s3,iam,sts,states,scheduler,registry; default: all but registry)")
	fs.DurationVar(&opts.IdleTimeout, "idle-timeout", 0, "stop warm function containers idle this long (default: the Lambda service's)")
	fs.StringVar(&opts.RIEPath, "rie", "", "path of the aws-lambda-rie binary to mount into function containers")
	fs.BoolVar(&jsonLog, "log-json", false, "log as JSON lines instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if services != "" {
		opts.Faults.Services = strings.Split(services, ",")
	}
	switch {
	case transition == 0:
		opts.TransitionDelay = -1 // zero means "no delay" on the command line
	case transition > 0:
		opts.TransitionDelay = time.Duration(transition) * time.Millisecond
	}
	if jsonLog {
		opts.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	} else {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e, err := emulator.Start(ctx, opts)
	if err != nil {
		return err
	}
	<-ctx.Done()
	stop() // a second signal now kills the process the default way
	opts.Logger.Info("shutting down")
	return e.Close()
}
