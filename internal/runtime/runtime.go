// Package runtime ships the Python runtime that runs inside every operator
// image. It is standard-library Python that speaks the Lambda Runtime API.
package runtime

import _ "embed"

// ScriptName is the runtime's file name inside the image, under ScriptDir.
const ScriptName = "aqueduct_runtime.py"

// ScriptDir is where the runtime is copied inside the image.
const ScriptDir = "/opt/aqueduct"

// Script is the runtime's source.
//
//go:embed aqueduct_runtime.py
var Script []byte

// Version is the runtime's __version__; `python3 aqueduct_runtime.py --version`
// prints it, so an image build can check the copy it ships.
const Version = "1.0.0"
