// Command fn is the test function: a static aws-lambda-go binary that the
// tests build into a FROM-scratch image. The event's mode picks a behaviour.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Mode    string `json:"mode"`
	Msg     string `json:"msg"`
	MB      int    `json:"mb"`
	SleepMS int    `json:"sleep_ms"`
	Lines   int    `json:"lines"`
	URL     string `json:"url"`
}

// instance identifies this runtime process, so tests can tell warm reuse
// from a new execution environment.
var instance = func() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

var sink [][]byte

func handle(ctx context.Context, e event) (map[string]any, error) {
	start := time.Now()
	fmt.Println("handler log:", e.Msg)
	switch e.Mode {
	case "error":
		return nil, errors.New("boom: " + e.Msg)
	case "panic":
		panic("kaboom: " + e.Msg)
	case "exit":
		os.Exit(3)
	case "alloc":
		for i := 0; i < e.MB; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = byte(j)
			}
			sink = append(sink, b)
		}
	case "log":
		for i := 0; i < e.Lines; i++ {
			fmt.Printf("line %05d of the log\n", i)
		}
	case "callback":
		resp, err := http.Post(e.URL, "text/plain", bytes.NewBufferString(e.Msg))
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
	case "fs":
		tmpErr := os.WriteFile("/tmp/probe", []byte("x"), 0o644)
		rootErr := os.WriteFile("/probe", []byte("x"), 0o644)
		return map[string]any{"tmp_ok": tmpErr == nil, "root_ok": rootErr == nil}, nil
	}
	if e.SleepMS > 0 {
		time.Sleep(time.Duration(e.SleepMS) * time.Millisecond)
	}
	env := map[string]string{}
	for _, k := range []string{"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_EXECUTION_ENV",
		"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "_HANDLER", "FOO",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"} {
		env[k] = os.Getenv(k)
	}
	return map[string]any{
		"echo":     e.Msg,
		"instance": instance,
		"env":      env,
		"start":    start.UnixNano(),
		"end":      time.Now().UnixNano(),
	}, nil
}

func main() { lambda.Start(handle) }
