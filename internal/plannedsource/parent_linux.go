package plannedsource

import (
	"bytes"
	"os"
	"strconv"
)

// parentArgs is the parent process's command line, from /proc.
func parentArgs() []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(os.Getppid()) + "/cmdline")
	if err != nil || len(b) == 0 {
		return nil
	}
	var args []string
	for _, a := range bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0}) {
		args = append(args, string(a))
	}
	return args
}
