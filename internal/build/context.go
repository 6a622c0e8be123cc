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
const hashVersion = "aqueduct-build-context/v2"

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
	req, err := spec.requirementsTxt()
	if err != nil {
		return nil, err
	}
	if req != nil {
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
// directories by their path inside the source. Symlinks are followed or kept
// by the rules in symlink.go.
func sourceEntries(root string) ([]entry, error) {
	// A source path that is itself a symlink is followed once, here.
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("operator source directory: %w", err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("operator source directory: %w", err)
	}
	pm, err := readDockerignore(root)
	if err != nil {
		return nil, err
	}
	w := &walker{root: root, pm: pm, parents: map[string]patternmatcher.MatchInfo{}}
	if err := w.walkDir(root, "", []frame{{host: root, fi: fi}}, 0); err != nil {
		return nil, err
	}
	if err := w.settleInsideLinks(); err != nil {
		return nil, err
	}
	return w.out, nil
}

// walker collects the source entries. rel is always the logical path inside
// the source (slash form, "" for the source itself): the path the entry has
// in the image, which is what .dockerignore matches. host is where it is read
// from; the two differ below a followed directory symlink.
type walker struct {
	root    string // real path of the source directory
	pm      *patternmatcher.PatternMatcher
	parents map[string]patternmatcher.MatchInfo
	out     []entry

	inside   []insideLink // links that may stay links, decided after the walk
	followed int          // symlinks followed so far
	linked   int          // entries reached through followed symlinks so far
}

// frame is a directory the walk is inside, by real host path and identity.
type frame struct {
	host string
	fi   fs.FileInfo
}

// walkDir visits the children of the directory at host, whose logical path
// is rel. stack holds the directories it is inside, the source first; depth
// counts the followed directory symlinks on the way (0: the source tree).
func (w *walker) walkDir(host, rel string, stack []frame, depth int) error {
	des, err := os.ReadDir(host)
	if err != nil {
		return fmt.Errorf("reading operator source: %w", err)
	}
	for _, d := range des {
		name := d.Name()
		r := name
		if rel != "" {
			r = rel + "/" + name
		}
		if err := w.visit(d, filepath.Join(host, name), r, stack, depth); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) visit(d fs.DirEntry, host, rel string, stack []frame, depth int) error {
	excluded := false
	var match patternmatcher.MatchInfo
	if w.pm != nil {
		var err error
		excluded, match, err = w.pm.MatchesUsingParentResults(rel, w.parents[pathDir(rel)])
		if err != nil {
			return fmt.Errorf("matching %q against .dockerignore: %w", rel, err)
		}
	}
	if d.Type()&fs.ModeSymlink != 0 {
		return w.symlink(host, rel, excluded, match, stack, depth)
	}
	// An ignored directory is still walked when a "!pattern" may re-include
	// something below it (as docker does), but gets no entry of its own.
	if excluded && !(d.IsDir() && exceptionUnder(w.pm, rel)) {
		return nil
	}
	fi, err := d.Info()
	if err != nil {
		return fmt.Errorf("reading operator source: %w", err)
	}
	e := entry{name: contextSourceDir + "/" + rel}
	switch m := fi.Mode(); {
	case m.IsDir():
		if w.pm != nil {
			w.parents[rel] = match
		}
		if !excluded {
			e.kind, e.mode = kindDir, 0o755
			if err := w.add(e, depth > 0); err != nil {
				return err
			}
		}
		return w.walkDir(host, rel, append(stack, frame{host: host, fi: fi}), depth)
	case m.IsRegular():
		e.kind, e.mode, e.size, e.path = kindFile, fileMode(m), fi.Size(), host
		return w.add(e, depth > 0)
	case m&fs.ModeSocket != 0:
		return nil // docker build skips sockets too
	default:
		return fmt.Errorf("operator source %q is a %v, which a build context cannot hold", host, m.Type())
	}
}

// add appends an entry; linked says it was reached through a followed
// symlink, which counts towards maxLinkedEntries.
func (w *walker) add(e entry, linked bool) error {
	if linked {
		w.linked++
		if w.linked > maxLinkedEntries {
			return fmt.Errorf("operator source: more than %d files and directories are reached through symlinks (the last is %q); "+
				"a symlinked directory is very large or is linked many times over. Link only what the operator needs, or exclude the rest in .dockerignore",
				maxLinkedEntries, strings.TrimPrefix(e.name, contextSourceDir+"/"))
		}
	}
	w.out = append(w.out, e)
	return nil
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
	// Only when set, so that the hashes of operators without secrets stay.
	_, _ = io.WriteString(h, secretsHeader(spec)) // a hash.Hash never fails a write

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
