package build

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Hash is the content hash of the spec's build context, as "sha256:<64 hex>".
// It needs no Docker, so it runs at plan time.
//
// It covers, in a fixed framing: the base image, platform and Python version;
// then every context entry sorted by path (slash form) with its kind, mode and
// contents: the generated Dockerfile (which carries the function), the
// requirements file, the embedded runtime, and each source file left after
// .dockerignore. Not covered: mtimes, owners, walk order. Modes are reduced to
// executable (0755) or not (0644), and directories to 0755, because that is
// all the image keeps (see the tar writer).
//
// Symlinks (the package comment has the exact rules) are resolved, never
// hashed as dangling links:
//   - one whose target resolves outside SourceDir is followed: it counts as
//     the file (contents, executable bit) or the directory (every entry below
//     it, at its path under the link, .dockerignore applied to that path) it
//     leads to, exactly as if those were in SourceDir at the link's path, so
//     editing the target changes the hash;
//   - one in the source tree whose target resolves inside SourceDir, and
//     resolves in the image as on disk (relative target, leading ".." only,
//     real directories on the way, target in the context), is kept: it counts
//     as its target string, and the target counts as itself. Any other link
//     resolving inside SourceDir, and every link below a followed directory,
//     is followed like an outside one;
//   - a dangling link, a loop of links, and a followed directory link leading
//     back to SourceDir or to a directory that contains the link make Hash
//     fail with an error naming the link by its path in SourceDir; so does
//     following more links, or more deeply nested ones, than the walk allows.
//
// SourceDir itself may be a symlink. Sockets are skipped, as docker does;
// fifos and devices are an error, also when reached through a link.
func Hash(spec Spec) (string, error) {
	spec, err := spec.normalized()
	if err != nil {
		return "", err
	}
	entries, err := contextEntries(spec)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if err := writeContext(spec, entries, h, nil); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// ImageTag turns a Hash into an image tag ("src-<64 hex>"), so that an image
// for the same context can be found in a registry by its tag.
func ImageTag(hash string) (string, error) {
	hexPart, ok := strings.CutPrefix(hash, "sha256:")
	if !ok || len(hexPart) != sha256.Size*2 {
		return "", fmt.Errorf("source hash %q is not \"sha256:<64 hex digits>\"", hash)
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return "", fmt.Errorf("source hash %q is not \"sha256:<64 hex digits>\"", hash)
	}
	return "src-" + hexPart, nil
}
