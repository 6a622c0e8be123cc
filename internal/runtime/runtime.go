// Package runtime ships the Python runtime that runs inside every operator
// image. It is standard-library Python that speaks the Lambda Runtime API.
package runtime

import _ "embed"

// ScriptName is the runtime's file name inside the image, under ScriptDir.
const ScriptName = "aqueduct_runtime.py"

// ScriptDir is where the runtime is copied inside the image.
const ScriptDir = "/opt/aqueduct"

// TaskRoot is Lambda's LAMBDA_TASK_ROOT, where the image puts the operator's
// code; the runtime falls back to it when the variable is unset.
const TaskRoot = "/var/task"

// Command is how an image starts the runtime. Isolated mode (-I) keeps
// PYTHONPATH and the script's directory off sys.path, so a json.py or an
// http/ package in the task root cannot shadow what the runtime imports; the
// runtime puts the task root on sys.path itself once its imports are done.
func Command(python, script string) []string {
	return []string{python, "-I", script}
}

// Script is the runtime's source.
//
//go:embed aqueduct_runtime.py
var Script []byte

// Version is the runtime's __version__; `python3 -I aqueduct_runtime.py --version`
// prints it, so an image build can check the copy it ships.
const Version = "1.1.0"
