package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/moby/patternmatcher"
)

// The rules for symlinks are in the package comment (spec.go). How they are
// applied: the walk meets a link, resolves it (os.Stat and EvalSymlinks, so
// dangling links and loops of links are caught by the OS's own resolution),
// and either follows it at once or, for a link in the source tree that
// resolves inside the source and whose target is of the keepable shape,
// records it in walker.inside. After the walk, settleInsideLinks keeps each
// of those whose target is in the context and follows the rest. Directories
// being walked are kept on a stack (real path and identity), against which a
// followed directory link is checked for loops.

// Bounds on following symlinks; variables so that tests can lower them.
var (
	// maxFollowedLinks bounds the symlinks followed in one source.
	maxFollowedLinks = 10_000
	// maxFollowDepth bounds how many followed directory links nest.
	maxFollowDepth = 40
	// maxLinkedEntries bounds the files and directories reached through
	// followed links.
	maxLinkedEntries = 100_000
)

// insideLink is a link in the source tree whose target resolves inside the
// source and which resolves in the image as it does here, provided that its
// target (logical path lt) is in the context; settleInsideLinks decides.
type insideLink struct {
	host, rel, target, lt string
	real                  string      // where the link resolves on the host
	fi                    fs.FileInfo // what it resolves to
	stack                 []frame
}

// symlink handles the link at host (logical path rel).
func (w *walker) symlink(host, rel string, excluded bool, match patternmatcher.MatchInfo, stack []frame, depth int) error {
	if excluded && !exceptionUnder(w.pm, rel) {
		return nil
	}
	target, err := os.Readlink(host)
	if err != nil {
		return fmt.Errorf("operator source: reading symlink %q: %w", rel, err)
	}
	fi, err := os.Stat(host)
	if err != nil {
		if excluded {
			return nil // ignored, and nothing below it to re-include
		}
		return w.linkError(host, rel, target, depth, err)
	}
	if fi.Mode()&fs.ModeSocket != 0 {
		return nil // docker build skips sockets too
	}
	if excluded && !fi.IsDir() {
		return nil
	}
	real, err := filepath.EvalSymlinks(host)
	if err != nil {
		return w.linkError(host, rel, target, depth, err)
	}
	if depth == 0 && !excluded && within(real, w.root) {
		if lt, ok := w.keepable(rel, target); ok {
			w.inside = append(w.inside, insideLink{
				host: host, rel: rel, target: target, lt: lt,
				real: real, fi: fi, stack: slices.Clone(stack),
			})
			return nil
		}
	}
	return w.follow(host, rel, target, real, fi, excluded, match, stack, depth)
}

// follow puts what the link resolves to (real, described by fi) into the
// context at the link's logical path rel.
func (w *walker) follow(host, rel, target, real string, fi fs.FileInfo, excluded bool, match patternmatcher.MatchInfo, stack []frame, depth int) error {
	w.followed++
	if w.followed > maxFollowedLinks {
		return fmt.Errorf("operator source: symlink %q: more than %d symlinks to follow; "+
			"symlinked directories link to each other too many times over (each occurrence is copied into the image). "+
			"Link only what the operator needs, or exclude links in .dockerignore", rel, maxFollowedLinks)
	}
	e := entry{name: contextSourceDir + "/" + rel}
	switch m := fi.Mode(); {
	case m.IsDir():
		if err := w.checkLoop(host, rel, target, real, fi, stack, depth); err != nil {
			return err
		}
		if depth+1 > maxFollowDepth {
			return fmt.Errorf("operator source: symlink %q: more than %d symlinked directories nested in one another; "+
				"link the directory the operator needs directly", rel, maxFollowDepth)
		}
		if w.pm != nil {
			w.parents[rel] = match
		}
		if !excluded {
			e.kind, e.mode = kindDir, 0o755
			if err := w.add(e, true); err != nil {
				return err
			}
		}
		return w.walkDir(real, rel, append(stack, frame{host: real, fi: fi}), depth+1)
	case m.IsRegular():
		e.kind, e.mode, e.size, e.path = kindFile, fileMode(m), fi.Size(), real
		return w.add(e, true)
	default:
		return fmt.Errorf("operator source: symlink %q%s points at %q, a %v, which a build context cannot hold",
			rel, w.hostHint(host, depth), target, m.Type())
	}
}

// checkLoop refuses a directory link whose walk would never end: one that
// leads to the source directory, to a directory holding the link, or to a
// directory the walk is already inside (through other links).
func (w *walker) checkLoop(host, rel, target, real string, fi fs.FileInfo, stack []frame, depth int) error {
	const fix = "following it would copy the directory into itself for ever. Point the link at what the operator needs, or remove it"
	if real == w.root || os.SameFile(fi, stack[0].fi) {
		return fmt.Errorf("operator source: symlink %q%s points at %q, which is the source directory itself; %s",
			rel, w.hostHint(host, depth), target, fix)
	}
	back := ""
	if within(filepath.Dir(host), real) {
		back = real
	}
	for _, f := range stack {
		if back != "" {
			break
		}
		if os.SameFile(fi, f.fi) {
			back = f.host
		}
	}
	if back != "" {
		return fmt.Errorf("operator source: symlink %q%s points at %q, which leads back to %s, a directory that contains the link; %s",
			rel, w.hostHint(host, depth), target, back, fix)
	}
	return nil
}

// keepable reports whether the link at rel with this target resolves in the
// image as it does here, given that rel is in the source tree itself (every
// directory above it is a real one): the target is relative, climbs only at
// its start and not above the source, and descends only through real
// directories. It returns the logical path lt the target names ("" for the
// source directory).
func (w *walker) keepable(rel, target string) (lt string, ok bool) {
	if target == "" || filepath.IsAbs(target) || strings.HasPrefix(target, "/") {
		return "", false
	}
	var dir []string
	if d := pathDir(rel); d != "." {
		dir = strings.Split(d, "/")
	}
	var down []string
	for _, c := range strings.Split(filepath.ToSlash(target), "/") {
		switch c {
		case "", ".":
		case "..":
			if len(down) > 0 || len(dir) == 0 {
				return "", false
			}
			dir = dir[:len(dir)-1]
		default:
			down = append(down, c)
		}
	}
	p := filepath.Join(w.root, filepath.FromSlash(path.Join(dir...)))
	for i := 0; i+1 < len(down); i++ {
		p = filepath.Join(p, down[i])
		if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
			return "", false
		}
	}
	return path.Join(append(dir, down...)...), true
}

// settleInsideLinks keeps each candidate inside link whose target is in the
// context (so it is never dangling in the image), and follows the others.
// Whether a logical path is in the context does not depend on these
// decisions: every candidate gets an entry at its own path either way.
func (w *walker) settleInsideLinks() error {
	if len(w.inside) == 0 {
		return nil
	}
	present := map[string]bool{"": true}
	mark := func(rel string) {
		for !present[rel] {
			present[rel] = true
			rel = pathDir(rel)
			if rel == "." {
				return
			}
		}
	}
	for _, e := range w.out {
		mark(strings.TrimPrefix(e.name, contextSourceDir+"/"))
	}
	for _, l := range w.inside {
		present[l.rel] = true
	}
	for _, l := range w.inside {
		if present[l.lt] {
			w.out = append(w.out, entry{name: contextSourceDir + "/" + l.rel, kind: kindSymlink, mode: 0o777, link: l.target})
			continue
		}
		var match patternmatcher.MatchInfo
		if w.pm != nil {
			var err error
			if _, match, err = w.pm.MatchesUsingParentResults(l.rel, w.parents[pathDir(l.rel)]); err != nil {
				return fmt.Errorf("matching %q against .dockerignore: %w", l.rel, err)
			}
		}
		if err := w.follow(l.host, l.rel, l.target, l.real, l.fi, false, match, l.stack, 0); err != nil {
			return err
		}
	}
	return nil
}

// linkError explains a link that does not resolve.
func (w *walker) linkError(host, rel, target string, depth int, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("operator source: symlink %q%s points at %q, which does not exist; fix or remove the link",
			rel, w.hostHint(host, depth), target)
	case errors.Is(err, syscall.ELOOP):
		return fmt.Errorf("operator source: symlink %q%s points at %q, which is a loop of symlinks that never reaches a file or directory; fix or remove the link",
			rel, w.hostHint(host, depth), target)
	}
	return fmt.Errorf("operator source: symlink %q%s points at %q: %w", rel, w.hostHint(host, depth), target, err)
}

// hostHint names where a link really is when that is not the source tree
// (below a followed directory link), since its target is relative to there.
func (w *walker) hostHint(host string, depth int) string {
	if depth == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s)", host)
}

// within reports whether p is dir or below it; both are clean paths.
func within(p, dir string) bool {
	if p == dir {
		return true
	}
	if !strings.HasSuffix(dir, string(filepath.Separator)) {
		dir += string(filepath.Separator)
	}
	return strings.HasPrefix(p, dir)
}
