// Command shim runs inside a function's container between the Runtime
// Interface Emulator and the image's own entry point. RIE forces
// AWS_LAMBDA_RUNTIME_API to its own address; the shim points the runtime at
// the emulator's Runtime API proxy instead (AQUEDUCT_RUNTIME_API), so the
// emulator sees which invocations ended in /error, then execs the runtime
// command given as a JSON array in AQUEDUCT_RUNTIME_CMD (passed out of band:
// RIE would parse its own flags out of a command line). It is built
// statically and mounted read-only, like RIE.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Where RIE and Lambda look when an image names no command.
var bootstraps = []string{"/var/task/bootstrap", "/opt/bootstrap", "/var/runtime/bootstrap"}

func main() {
	if p := os.Getenv("AQUEDUCT_RUNTIME_API"); p != "" {
		_ = os.Setenv("AWS_LAMBDA_RUNTIME_API", p)
	}
	_ = os.Unsetenv("AQUEDUCT_RUNTIME_API")
	var args []string
	if c := os.Getenv("AQUEDUCT_RUNTIME_CMD"); c != "" {
		if err := json.Unmarshal([]byte(c), &args); err != nil {
			fmt.Fprintln(os.Stderr, "AQUEDUCT_RUNTIME_CMD:", err)
			os.Exit(127)
		}
	}
	_ = os.Unsetenv("AQUEDUCT_RUNTIME_CMD")
	if len(args) == 0 {
		for _, b := range bootstraps {
			if st, err := os.Stat(b); err == nil && !st.IsDir() {
				args = []string{b}
				break
			}
		}
	}
	var err error
	if len(args) == 0 {
		err = fmt.Errorf("Couldn't find valid bootstrap(s): %v", bootstraps)
	} else {
		var path string
		if path, err = exec.LookPath(args[0]); err == nil {
			err = syscall.Exec(path, args, os.Environ())
		}
		if err != nil {
			err = fmt.Errorf("fork/exec %s: %w", args[0], unwrapExec(err))
		}
	}
	// Lambda reports an entry point it cannot start as Runtime.InvalidEntrypoint;
	// the emulator writes the message into the function's log.
	if !reportInitError("Runtime.InvalidEntrypoint", err.Error()) {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(127)
}

// unwrapExec reduces an exec or stat error to its cause, as Lambda prints it.
func unwrapExec(err error) error {
	for {
		switch e := err.(type) {
		case *exec.Error:
			err = e.Err
		case *os.PathError:
			err = e.Err
		default:
			return err
		}
	}
}

func reportInitError(errType, msg string) bool {
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	if api == "" {
		return false
	}
	body, _ := json.Marshal(map[string]string{"errorMessage": msg, "errorType": errType})
	req, err := http.NewRequest(http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Lambda-Runtime-Function-Error-Type", errType)
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode/100 == 2
}
