package lambda

import (
	"context"

	"github.com/docker/docker/client"
)

// For the external tests, which drive this service through the root emulator.

// FunctionBinary is the test function (testdata/fn), built statically.
func FunctionBinary(ctx context.Context) ([]byte, error) { return functionBinary(ctx) }

// BuildAndPush builds the test function's image as tag, pushes it to host
// with user and pass, and removes the local copy.
func BuildAndPush(ctx context.Context, d *client.Client, binary []byte, tag, user, pass, host string) error {
	return buildAndPushAs(ctx, d, binary, tag, "emulator", user, pass, host)
}
