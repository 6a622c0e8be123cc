// Command fn is the Step Functions tests' Lambda function: a static
// aws-lambda-go binary the tests put into a FROM-scratch image. The event's
// mode picks a behaviour.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
)

type event struct {
	Mode      string `json:"mode"`
	Msg       string `json:"msg"`
	SleepMS   int    `json:"sleep_ms"`
	ErrorType string `json:"error_type"`
	URL       string `json:"url"`   // flaky: counts attempts
	Fails     int    `json:"fails"` // flaky: attempts that fail
}

func handle(_ context.Context, e event) (map[string]any, error) {
	start := time.Now()
	switch e.Mode {
	case "error":
		return nil, messages.InvokeResponse_Error{Message: e.Msg, Type: e.ErrorType}
	case "flaky":
		resp, err := http.Post(e.URL, "text/plain", strings.NewReader(e.Msg))
		if err != nil {
			return nil, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if n <= e.Fails {
			return nil, messages.InvokeResponse_Error{Message: fmt.Sprintf("attempt %d fails", n), Type: "Flaky"}
		}
		return map[string]any{"attempt": n}, nil
	}
	if e.SleepMS > 0 {
		time.Sleep(time.Duration(e.SleepMS) * time.Millisecond)
	}
	return map[string]any{"echo": e.Msg, "start": start.UnixMilli(), "end": time.Now().UnixMilli()}, nil
}

func main() { lambda.Start(handle) }
