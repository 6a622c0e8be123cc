package emulator

import (
	"context"
	"fmt"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/ecr"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/lambda"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/logs"
)

// wire starts the ECR service (API and registry), CloudWatch Logs, the
// Lambda service, which checks roles against IAM, resolves images in ECR
// and writes invocation logs to CloudWatch Logs, Step
// Functions, which invokes Lambda, and EventBridge Scheduler, which starts
// executions and invokes Lambda.
func (e *Emulator) wire(_ context.Context) error {
	host := e.Addr()
	ecrSvc, err := ecr.New(ecr.Options{
		DataDir: e.dataDir("ecr"),
		Host:    func() string { return host },
		Region:  e.opts.Region,
	})
	if err != nil {
		return err
	}
	e.ecr = ecrSvc

	if e.logs, err = logs.New(logs.Options{DataDir: e.dataDir("logs"), Region: e.opts.Region, Logf: e.logf("logs")}); err != nil {
		return err
	}

	lambdaSvc, err := lambda.New(lambda.Options{
		DataDir:         e.dataDir("lambda"),
		Region:          e.opts.Region,
		Roles:           e.iam,
		Images:          ecrSvc,
		Registry:        ecrSvc,
		TransitionDelay: e.faults.transitionDelay,
		IdleTimeout:     e.opts.IdleTimeout,
		RIEPath:         e.opts.RIEPath,
		Endpoint:        e.url,
		Logs:            e.logs,
		Logf:            e.logf("lambda"),
	})
	if err != nil {
		return err
	}
	e.lambda = lambdaSvc
	e.lambdaSvc = lambdaSvc
	if err := e.wireSFN(); err != nil {
		return err
	}
	return e.wireScheduler()
}

// Logs is the emulated CloudWatch Logs, for tests that look inside it.
func (e *Emulator) Logs() *logs.Service { return e.logs }

// Lambda is the emulated Lambda service, for tests that look inside it.
func (e *Emulator) Lambda() *lambda.Service { return e.lambdaSvc }

// logf is the Logf of a service's Options: its background events go to the
// emulator's log under the service's name.
func (e *Emulator) logf(service string) func(format string, args ...any) {
	return func(format string, args ...any) {
		e.log.Info(fmt.Sprintf(format, args...), "service", service)
	}
}
