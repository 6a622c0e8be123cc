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
// Symlinks (see the package comment for the full rules): one whose target
// resolves outside SourceDir is followed, so it counts as the file (contents
// and executable bit) or the directory (every entry below it, by path under
// the link) it leads to, exactly as if they were in SourceDir at the link's
// path; editing the target changes the hash. One in the source tree whose
// target resolves inside SourceDir and names an entry of the context counts
// as its target string, and the target counts as itself; if it cannot be
// kept that way it is followed like an outside one. A dangling link, a loop
// of links and a directory link leading back into its own ancestors make
// Hash fail with an error naming the link. SourceDir itself may be a
// symlink. Sockets are skipped, as docker does; fifos and devices are an
// error, also when reached through a link.
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
