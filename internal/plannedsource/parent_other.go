//go:build !linux

package plannedsource

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// parentArgs is the parent process's command line as ps shows it (macOS and
// the BSDs); nil where there is no ps.
func parentArgs() []string {
	out, err := exec.Command("ps", "-o", "command=", "-p", strconv.Itoa(os.Getppid())).Output()
	if err != nil {
		return nil
	}
	return strings.Fields(string(out))
}
