package emulator

import (
	"context"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/ecr"
)

// wire starts the ECR service (API and registry) and the Lambda service on
// top of IAM and ECR.
func (e *Emulator) wire(_ context.Context) error {
	host := e.Addr()
	svc, err := ecr.New(ecr.Options{
		DataDir: e.dataDir("ecr"),
		Host:    func() string { return host },
		Region:  e.opts.Region,
	})
	if err != nil {
		return err
	}
	e.ecr = svc
	return nil
}
