// Command handler is the Lambda function the integration tests deploy: it
// echoes its event, or fails when asked to, and logs a marker line.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Echo string `json:"echo"`
	Fail bool   `json:"fail"`
}

type answer struct {
	Echo    string `json:"echo"`
	Version string `json:"version"`
	Memory  string `json:"memory"`
}

func handle(_ context.Context, e event) (answer, error) {
	fmt.Println("handler-log-marker:", e.Echo)
	if e.Fail {
		return answer{}, errors.New("asked to fail: " + e.Echo)
	}
	return answer{Echo: e.Echo, Version: os.Getenv("HANDLER_VERSION"), Memory: os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")}, nil
}

func main() { lambda.Start(handle) }
