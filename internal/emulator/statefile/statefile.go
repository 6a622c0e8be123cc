// Package statefile keeps a service's state as one JSON file in its data
// directory, replaced atomically so that a crash leaves the old file or
// the new one, never half of one.
//
// What a service stores, and what it does with it after loading, stays in
// the service:
//
//	if err := statefile.Save(path, st); err != nil { ... }
//	if err := statefile.Load(path, &st); err != nil { ... }
package statefile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Save writes v as indented JSON to path, creating its directory. It writes
// a temporary file next to path and renames it over path. The file is
// private (0600): it belongs to the emulator and nothing else reads it.
func Save(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Load reads the JSON at path into v. A missing file means nothing was
// saved yet: v is left as it is and the error is nil. A file that does not
// decode is an error naming path.
func Load(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err // an *fs.PathError, which names path
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}
