package build

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
)

// Names inside the build context (see the package comment).
const (
	contextDockerfile   = "Dockerfile"
	contextRequirements = "requirements.txt"
	contextRuntime      = runtime.ScriptName
	contextSourceDir    = "src"
)

// epoch is the mtime of every tar entry, so that the context (and the layers
// Docker makes from it) do not depend on when files were touched. 1980 rather
// than 1970 because Python's zipfile refuses older timestamps.
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// hashVersion starts the hashed stream; bump it when the layout or the framing
// changes, so old hashes cannot match new contexts.
const hashVersion = "aqueduct-build-context/v1"

type entryKind byte

const (
	kindDir     entryKind = 'd'
	kindFile    entryKind = 'f'
	kindSymlink entryKind = 'l'
)

// entry is one member of the build context.
type entry struct {
	name string // slash path inside the context
	kind entryKind
	mode int64  // normalized permission bits
	size int64  // file size; 0 for dirs and symlinks
	link string // symlink target, verbatim
	path string // host path to read from; "" when data holds the contents
	data []byte
}

// contextEntries lists the whole build context of a normalized spec, sorted
// by name. Parents sort before their children since a prefix sorts first.
func contextEntries(spec Spec) ([]entry, error) {
	entries := []entry{
		memEntry(contextDockerfile, Dockerfile(spec)),
		memEntry(contextRuntime, runtime.Script),
		{name: contextSourceDir, kind: kindDir, mode: 0o755},
	}
	if req := spec.requirementsTxt(); req != nil {
		entries = append(entries, memEntry(contextRequirements, req))
	}
	src, err := sourceEntries(spec.SourceDir)
	if err != nil {
		return nil, err
	}
	entries = append(entries, src...)
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, nil
}

func memEntry(name string, data []byte) entry {
	return entry{name: name, kind: kindFile, mode: 0o644, size: int64(len(data)), data: data}
}

// sourceEntries walks the source directory the way `docker build` walks a
// context: .dockerignore patterns (with ! exceptions) exclude files and
// directories; symlinks are archived as links, never followed.
func sourceEntries(root string) ([]entry, error) {
	// A source path that is itself a symlink is followed once, here.
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("operator source directory: %w", err)
	}
	pm, err := readDockerignore(root)
	if err != nil {
		return nil, err
	}
	parents := map[string]patternmatcher.MatchInfo{}
	var out []entry
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading operator source: %w", err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if pm != nil {
			parent := parents[pathDir(rel)]
			skip, info, err := pm.MatchesUsingParentResults(rel, parent)
			if err != nil {
				return fmt.Errorf("matching %q against .dockerignore: %w", rel, err)
			}
			if d.IsDir() {
				parents[rel] = info
			}
			if skip {
				if d.IsDir() && !exceptionUnder(pm, rel) {
					return filepath.SkipDir
				}
				return nil
			}
		}
		fi, err := d.Info()
		if err != nil {
			return fmt.Errorf("reading operator source: %w", err)
		}
		e := entry{name: contextSourceDir + "/" + rel}
		switch m := fi.Mode(); {
		case m.IsDir():
			e.kind, e.mode = kindDir, 0o755
		case m.IsRegular():
			e.kind, e.mode, e.size, e.path = kindFile, fileMode(m), fi.Size(), p
		case m&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("reading operator source: %w", err)
			}
			e.kind, e.mode, e.link = kindSymlink, 0o777, target
		case m&fs.ModeSocket != 0:
			return nil // docker build skips sockets too
		default:
			return fmt.Errorf("operator source %q is a %v, which a build context cannot hold", p, m.Type())
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// fileMode keeps only whether a file is executable: Lambda runs the function
// as a non-root user, so everything must be world-readable, and umask or
// checkout differences between machines must not change the hash.
func fileMode(m fs.FileMode) int64 {
	if m&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

func pathDir(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return "."
}

// exceptionUnder reports whether a "!pattern" may re-include something below
// an ignored directory, in which case the walk must go into it (as docker's).
func exceptionUnder(pm *patternmatcher.PatternMatcher, dir string) bool {
	if !pm.Exclusions() {
		return false
	}
	for _, pat := range pm.Patterns() {
		if pat.Exclusion() && strings.HasPrefix(pat.String()+"/", dir+"/") {
			return true
		}
	}
	return false
}

func readDockerignore(root string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	if len(patterns) == 0 {
		return nil, nil
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return pm, nil
}

// writeContext writes the spec header and every entry to h (framed so that no
// two different contexts give the same stream) and, when tw is not nil, the
// same entries to a tar. Both see the same bytes, read once.
func writeContext(spec Spec, entries []entry, h hash.Hash, tw *tar.Writer) error {
	// Fields that shape the image but are not spelled out in the Dockerfile.
	platform, _ := Platform(spec.Architecture)
	fmt.Fprintf(h, "%s\nbase %q\nplatform %q\npython %q\n", hashVersion, spec.BaseImage, platform, spec.PythonVersion)

	buf := make([]byte, 256<<10)
	for _, e := range entries {
		fmt.Fprintf(h, "%c %o %d %q %q\n", e.kind, e.mode, e.size, e.name, e.link)
		if tw != nil {
			if err := tw.WriteHeader(e.tarHeader()); err != nil {
				return err
			}
		}
		if e.kind != kindFile {
			continue
		}
		var w io.Writer = h
		if tw != nil {
			w = io.MultiWriter(h, tw)
		}
		if e.path == "" {
			if _, err := w.Write(e.data); err != nil {
				return err
			}
			continue
		}
		if err := copyFile(w, e, buf); err != nil {
			return err
		}
	}
	if tw != nil {
		return tw.Close()
	}
	return nil
}

// copyFile copies exactly the size seen in the walk, so hash and tar agree
// even if the file changes meanwhile (Build then sees the hash move).
func copyFile(w io.Writer, e entry, buf []byte) error {
	f, err := os.Open(e.path)
	if err != nil {
		return fmt.Errorf("reading operator source: %w", err)
	}
	defer f.Close()
	n, err := io.CopyBuffer(w, io.LimitReader(f, e.size), buf)
	if err != nil {
		return fmt.Errorf("reading operator source %s: %w", e.path, err)
	}
	if n != e.size {
		// Pad so the tar stays well formed; the hash already differs.
		if _, err := w.Write(make([]byte, e.size-n)); err != nil {
			return err
		}
		return fmt.Errorf("operator source %s shrank while it was read; try again", e.path)
	}
	return nil
}

func (e entry) tarHeader() *tar.Header {
	h := &tar.Header{
		Name:    e.name,
		Mode:    e.mode,
		ModTime: epoch,
	}
	switch e.kind {
	case kindDir:
		h.Typeflag, h.Name = tar.TypeDir, e.name+"/"
	case kindFile:
		h.Typeflag, h.Size = tar.TypeReg, e.size
	case kindSymlink:
		h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
	}
	return h
}

// contextTar is the whole build context as a tar, for tests and debugging.
func contextTar(spec Spec, h hash.Hash) ([]byte, error) {
	entries, err := contextEntries(spec)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := writeContext(spec, entries, h, tar.NewWriter(&b)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
