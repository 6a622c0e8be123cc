package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxRequirementsFile bounds what is read into memory and the context.
const maxRequirementsFile = 1 << 20

// CheckRequirementsFile checks that rel names a regular file inside
// sourceDir: a relative path that does not climb out with "..", and that,
// after symlinks, still resolves inside the source directory. It returns the
// file's host path. Errors say which rule the path breaks.
func CheckRequirementsFile(sourceDir, rel string) (string, error) {
	if rel == "" {
		return "", errors.New("requirements_file is empty")
	}
	if filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") {
		return "", fmt.Errorf("requirements_file %q is absolute; give a path relative to the operator's source %q", rel, sourceDir)
	}
	clean := filepath.Clean(filepath.FromSlash(rel))
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("requirements_file %q leads out of the operator's source %q; it must be a file inside it", rel, sourceDir)
	}
	root, err := filepath.EvalSymlinks(sourceDir)
	if err != nil {
		return "", fmt.Errorf("operator source directory: %w", err)
	}
	host := filepath.Join(root, clean)
	resolved, err := filepath.EvalSymlinks(host)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("requirements_file %q does not exist in the operator's source %q", rel, sourceDir)
	}
	if err != nil {
		return "", fmt.Errorf("requirements_file %q: %w", rel, err)
	}
	if r, err := filepath.Rel(root, resolved); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("requirements_file %q is a symbolic link to %s, outside the operator's source %q; it must resolve to a file inside it", rel, resolved, sourceDir)
	}
	fi, err := os.Stat(resolved)
	if err != nil {
		return "", fmt.Errorf("requirements_file %q: %w", rel, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("requirements_file %q is not a regular file", rel)
	}
	if fi.Size() > maxRequirementsFile {
		return "", fmt.Errorf("requirements_file %q is %d bytes; at most %d are accepted", rel, fi.Size(), maxRequirementsFile)
	}
	return resolved, nil
}

// readRequirementsFile is the requirements file's content for the context.
func readRequirementsFile(s Spec) ([]byte, error) {
	host, err := CheckRequirementsFile(s.SourceDir, s.RequirementsFile)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(host)
	if err != nil {
		return nil, fmt.Errorf("requirements_file %q: %w", s.RequirementsFile, err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	return b, nil
}
