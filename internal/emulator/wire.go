package emulator

import (
	"context"
	"fmt"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/ecr"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/lambda"
)

// wire starts the ECR service (API and registry) and the Lambda service,
// which checks roles against IAM and resolves images in ECR.
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

	lambdaSvc, err := lambda.New(lambda.Options{
		DataDir:         e.dataDir("lambda"),
		Region:          e.opts.Region,
		Roles:           e.iam,
		Images:          ecrSvc,
		Registry:        ecrSvc,
		TransitionDelay: e.faults.transitionDelay,
		IdleTimeout:     e.opts.IdleTimeout,
		RIEPath:         e.opts.RIEPath,
		Logf: func(format string, args ...any) {
			e.log.Info(fmt.Sprintf(format, args...), "service", "lambda")
		},
	})
	if err != nil {
		return err
	}
	e.lambda = lambdaSvc
	e.lambdaSvc = lambdaSvc
	return nil
}

// Lambda is the emulated Lambda service, for tests that look inside it.
func (e *Emulator) Lambda() *lambda.Service { return e.lambdaSvc }
