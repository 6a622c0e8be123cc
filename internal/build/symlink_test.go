package build

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/testenv"
)

// repo writes tree into a fresh directory (a user's monorepo) and returns it
// with its "op" subdirectory, the operator's source.
func repo(t *testing.T, tree map[string]file) (root, op string) {
	t.Helper()
	root = t.TempDir()
	writeTree(t, root, tree)
	op = filepath.Join(root, "op")
	if err := os.MkdirAll(op, 0o755); err != nil {
		t.Fatal(err)
	}
	return root, op
}

// srcTar is the context tar of the source dir, after checking that the hash
// computed while writing it is Hash's and that no link in it dangles.
func srcTar(t *testing.T, dir string) (tarball []byte, byName map[string]*tar.Header) {
	t.Helper()
	spec := mustNormalize(t, baseSpec(dir))
	h := sha256.New()
	tarball, err := contextTar(spec, h)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprintf("sha256:%x", h.Sum(nil)), mustHash(t, spec); got != want {
		t.Fatalf("hash while writing the tar %s != Hash %s", got, want)
	}
	byName = map[string]*tar.Header{}
	for _, hd := range tarHeaders(t, tarball) {
		byName[strings.TrimSuffix(hd.Name, "/")] = hd
	}
	for name, hd := range byName {
		if hd.Typeflag != tar.TypeSymlink {
			continue
		}
		if _, err := resolveIn(byName, name); err != nil {
			t.Errorf("link %s -> %s dangles in the context: %v", name, hd.Linkname, err)
		}
	}
	return tarball, byName
}

// resolveIn resolves a path of the context (such as "src/a/b") through the
// context's own symlinks, as the image resolves it under /var/task, and
// returns the header it ends at. Anything outside src/ is missing, since
// src/ is all that is copied into the task root.
func resolveIn(byName map[string]*tar.Header, name string) (*tar.Header, error) {
	cur := []string{"src"}
	todo := strings.Split(strings.TrimPrefix(name, "src/"), "/")
	var last *tar.Header
	for hops := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 1 {
				return nil, fmt.Errorf("climbs out of the task root")
			}
			cur, last = cur[:len(cur)-1], nil
			continue
		}
		if last != nil && last.Typeflag != tar.TypeDir {
			return nil, fmt.Errorf("%s is not a directory", last.Name)
		}
		p := strings.Join(cur, "/") + "/" + c
		h, ok := byName[p]
		if !ok {
			return nil, fmt.Errorf("%s is not in the context", p)
		}
		if h.Typeflag == tar.TypeSymlink {
			if hops++; hops > 40 {
				return nil, fmt.Errorf("too many links")
			}
			if strings.HasPrefix(h.Linkname, "/") {
				return nil, fmt.Errorf("%s is absolute", h.Linkname)
			}
			todo = append(strings.Split(h.Linkname, "/"), todo...)
			continue
		}
		cur, last = append(cur, c), h
	}
	if last == nil {
		return byName[strings.Join(cur, "/")], nil
	}
	return last, nil
}

func wantRegular(t *testing.T, tarball []byte, byName map[string]*tar.Header, name, data string, mode int64) {
	t.Helper()
	h, ok := byName[name]
	if !ok {
		t.Errorf("%s is not in the context", name)
		return
	}
	if h.Typeflag != tar.TypeReg || h.Mode != mode {
		t.Errorf("%s: type %c mode %o, want a regular file (%c) mode %o", name, h.Typeflag, h.Mode, tar.TypeReg, mode)
		return
	}
	if got := string(tarFile(t, tarball, name)); got != data {
		t.Errorf("%s = %q, want %q", name, got, data)
	}
}

func srcNames(byName map[string]*tar.Header, prefix string) []string {
	var out []string
	for n := range byName {
		if strings.HasPrefix(n+"/", prefix) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSymlink_fileOutsideIsARegularFileWithTheTargetsContents(t *testing.T) {
	root, op := repo(t, map[string]file{
		"shared/helper.py": {data: "def help(): return 1\n"},
		"shared/tool.sh":   {data: "#!/bin/sh\n", mode: 0o700},
		"op/main.py":       {data: "import helper\n"},
		"op/helper.py":     {link: "../shared/helper.py"},
		"op/bin/tool.sh":   {link: "../../shared/tool.sh"},
		"op/again.py":      {link: "../shared/helper.py"},
	})
	tarball, byName := srcTar(t, op)
	wantRegular(t, tarball, byName, "src/helper.py", "def help(): return 1\n", 0o644)
	wantRegular(t, tarball, byName, "src/again.py", "def help(): return 1\n", 0o644) // two links, two copies
	wantRegular(t, tarball, byName, "src/bin/tool.sh", "#!/bin/sh\n", 0o755)         // 0700 normalised
	before := mustHash(t, baseSpec(op))

	// The image is the same as with real copies, so is the hash.
	_, twin := repo(t, map[string]file{
		"op/main.py":     {data: "import helper\n"},
		"op/helper.py":   {data: "def help(): return 1\n"},
		"op/bin/tool.sh": {data: "#!/bin/sh\n", mode: 0o755},
		"op/again.py":    {data: "def help(): return 1\n"},
	})
	if got := mustHash(t, baseSpec(twin)); got != before {
		t.Errorf("links to files hash %s, real copies of them %s; the images are the same", before, got)
	}

	writeFile(t, filepath.Join(root, "shared/helper.py"), "def help(): return 2\n")
	edited := mustHash(t, baseSpec(op))
	if edited == before {
		t.Fatal("editing the shared file behind a link left source_hash unchanged")
	}
	if err := os.Remove(filepath.Join(op, "again.py")); err != nil {
		t.Fatal(err)
	}
	if removed := mustHash(t, baseSpec(op)); removed == edited {
		t.Fatal("removing a link to a shared file left source_hash unchanged")
	}
}

func TestSymlink_directoryOutsideIsWalkedWithItsLinksAndDockerignore(t *testing.T) {
	root, op := repo(t, map[string]file{
		"lib/shared/__init__.py":      {data: ""},
		"lib/shared/util.py":          {data: "U = 1\n"},
		"lib/shared/sub/deep.py":      {data: "D = 1\n"},
		"lib/shared/cache/x.pyc":      {data: "junk"},
		"lib/shared/other.py":         {link: "../other/o.py"}, // nested link to a file, outside
		"lib/shared/more":             {link: "../../extra"},   // nested link to a directory
		"lib/shared/self_alias.py":    {link: "util.py"},       // nested link staying in the followed dir
		"lib/shared/sub/back_to_u.py": {link: "../util.py"},    // followed too
		"lib/other/o.py":              {data: "O = 1\n"},
		"extra/e.py":                  {data: "E = 1\n"},
		"op/main.py":                  {data: "from shared import util\n"},
		"op/shared":                   {link: "../lib/shared"},
		"op/.dockerignore":            {data: "shared/cache\n**/*.log\nlib\n"},
		"lib/shared/debug.log":        {data: "ignored by **/*.log at its logical path"},
	})
	tarball, byName := srcTar(t, op)
	want := []string{
		"src/shared", "src/shared/__init__.py", "src/shared/more", "src/shared/more/e.py",
		"src/shared/other.py", "src/shared/self_alias.py", "src/shared/sub",
		"src/shared/sub/back_to_u.py", "src/shared/sub/deep.py", "src/shared/util.py",
	}
	if got := srcNames(byName, "src/shared/"); !slices.Equal(got, want) {
		t.Fatalf("entries under the followed directory:\n%q\nwant\n%q", got, want)
	}
	if h := byName["src/shared"]; h.Typeflag != tar.TypeDir || h.Mode != 0o755 {
		t.Errorf("src/shared: type %c mode %o, want a 0755 directory", h.Typeflag, h.Mode)
	}
	wantRegular(t, tarball, byName, "src/shared/util.py", "U = 1\n", 0o644)
	wantRegular(t, tarball, byName, "src/shared/other.py", "O = 1\n", 0o644)
	wantRegular(t, tarball, byName, "src/shared/self_alias.py", "U = 1\n", 0o644)
	wantRegular(t, tarball, byName, "src/shared/sub/back_to_u.py", "U = 1\n", 0o644)
	wantRegular(t, tarball, byName, "src/shared/more/e.py", "E = 1\n", 0o644)

	before := mustHash(t, baseSpec(op))
	writeFile(t, filepath.Join(root, "lib/shared/cache/x.pyc"), "other junk")
	writeFile(t, filepath.Join(root, "lib/shared/debug.log"), "more")
	if got := mustHash(t, baseSpec(op)); got != before {
		t.Fatal("a file .dockerignore excludes under a followed directory changed the hash")
	}
	for _, p := range []string{"lib/shared/sub/deep.py", "lib/other/o.py", "extra/e.py"} {
		writeFile(t, filepath.Join(root, p), "changed")
		got := mustHash(t, baseSpec(op))
		if got == before {
			t.Errorf("editing %s, reached through links, left the hash unchanged", p)
		}
		before = got
	}
	writeFile(t, filepath.Join(root, "lib/shared/new.py"), "")
	if got := mustHash(t, baseSpec(op)); got == before {
		t.Error("a file added to a followed directory left the hash unchanged")
	}
}

func TestSymlink_dockerignoreMatchesTheLinksOwnPath(t *testing.T) {
	t.Run("an ignored link is not resolved, even when dangling", func(t *testing.T) {
		_, op := repo(t, map[string]file{
			"op/main.py":       {data: "x"},
			"op/.dockerignore": {data: "venv\n"},
			"op/venv":          {link: "../no-such-dir"},
		})
		_, byName := srcTar(t, op)
		if got := srcNames(byName, "src/venv/"); len(got) != 0 {
			t.Fatalf("ignored link in the context: %q", got)
		}
	})
	t.Run("an exception re-includes one file below an ignored directory link", func(t *testing.T) {
		_, op := repo(t, map[string]file{
			"models/final.bin":  {data: "keep"},
			"models/ckpt-1.bin": {data: "drop"},
			"op/main.py":        {data: "x"},
			"op/.dockerignore":  {data: "models\n!models/final.bin\n"},
			"op/models":         {link: "../models"},
		})
		tarball, byName := srcTar(t, op)
		if got := srcNames(byName, "src/models/"); !slices.Equal(got, []string{"src/models/final.bin"}) {
			t.Fatalf("entries under the ignored link %q, want only the re-included file", got)
		}
		wantRegular(t, tarball, byName, "src/models/final.bin", "keep", 0o644)
	})
}

func TestSymlink_insideLinkIsKeptWhenItResolvesInTheImage(t *testing.T) {
	_, op := repo(t, map[string]file{
		"op/lib/util.py":  {data: "U = 1\n"},
		"op/alias.py":     {link: "lib/util.py"},
		"op/libalias":     {link: "./lib/"},
		"op/pkg/u.py":     {link: "../lib/util.py"},
		"op/pkg/up":       {link: ".."},
		"op/here":         {link: "."},
		"op/chain.py":     {link: "alias.py"},
		"op/pkg/deep/top": {link: "../../lib"},
	})
	_, byName := srcTar(t, op)
	for name, target := range map[string]string{
		"src/alias.py":     "lib/util.py",
		"src/libalias":     "./lib/",
		"src/pkg/u.py":     "../lib/util.py",
		"src/pkg/up":       "..",
		"src/here":         ".",
		"src/chain.py":     "alias.py",
		"src/pkg/deep/top": "../../lib",
	} {
		h, ok := byName[name]
		if !ok || h.Typeflag != tar.TypeSymlink || h.Linkname != target {
			t.Errorf("%s = %+v, want a link to %q kept as it is", name, h, target)
		}
	}
	// Links to the source itself or its parts are not walked again.
	if got := srcNames(byName, "src/here/"); len(got) != 1 {
		t.Errorf("the link to the source directory was walked: %q", got)
	}
}

func TestSymlink_insideLinkThatWouldNotResolveInTheImageIsFollowed(t *testing.T) {
	root, op := repo(t, map[string]file{
		"op/lib/util.py":     {data: "U = 1\n"},
		"op/private/key.py":  {data: "K = 1\n"},
		"op/.dockerignore":   {data: "private/\nhidden.py\n"},
		"op/key.py":          {link: "private/key.py"},     // target ignored
		"op/climb.py":        {link: "../op/lib/util.py"},  // leaves the source on the way
		"op/detour.py":       {link: "lib/../lib/util.py"}, // ".." after a name
		"op/libalias":        {link: "lib"},
		"op/via.py":          {link: "libalias/util.py"}, // through a link
		"op/hidden.py":       {data: "H = 1\n"},
		"op/to_hidden.py":    {link: "hidden.py"},
		"op/keys":            {link: "private"}, // directory whose every entry is ignored
		"op/chain_to_key.py": {link: "key.py"},  // kept: key.py is in the context (as a copy)
	})
	// Absolute targets never resolve in the image the same way.
	for link, target := range map[string]string{"abs.py": "op/lib/util.py", "absdir": "op/lib"} {
		if err := os.Symlink(filepath.Join(root, target), filepath.Join(op, link)); err != nil {
			t.Fatal(err)
		}
	}
	// Through a followed (copied) directory: a copy too, though a link
	// would resolve to the copy.
	if err := os.Symlink("absdir/util.py", filepath.Join(op, "via_abs.py")); err != nil {
		t.Fatal(err)
	}
	tarball, byName := srcTar(t, op)
	for _, n := range []string{"climb.py", "detour.py", "via.py", "abs.py", "absdir/util.py", "via_abs.py"} {
		wantRegular(t, tarball, byName, "src/"+n, "U = 1\n", 0o644)
	}
	wantRegular(t, tarball, byName, "src/key.py", "K = 1\n", 0o644)
	wantRegular(t, tarball, byName, "src/to_hidden.py", "H = 1\n", 0o644)
	wantRegular(t, tarball, byName, "src/keys/key.py", "K = 1\n", 0o644)
	if h := byName["src/libalias"]; h == nil || h.Typeflag != tar.TypeSymlink {
		t.Errorf("src/libalias = %+v, want a kept link", h)
	}
	if h := byName["src/chain_to_key.py"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "key.py" {
		t.Errorf("src/chain_to_key.py = %+v, want a kept link to key.py", h)
	}
	for _, n := range []string{"src/private", "src/hidden.py"} {
		if _, ok := byName[n]; ok {
			t.Errorf("%s is ignored but in the context", n)
		}
	}

	// What the image holds decides the hash: the same link kept or copied
	// gives a different image, so a different hash.
	before := mustHash(t, baseSpec(op))
	writeFile(t, filepath.Join(op, "private/key.py"), "K = 2\n")
	if got := mustHash(t, baseSpec(op)); got == before {
		t.Error("editing an ignored file that a link copies into the context left the hash unchanged")
	}
	_, kept := repo(t, map[string]file{"op/lib/util.py": {data: "U = 1\n"}, "op/a.py": {link: "lib/util.py"}})
	_, copied := repo(t, map[string]file{"op/lib/util.py": {data: "U = 1\n"}, "op/a.py": {link: "lib/../lib/util.py"}})
	_, plain := repo(t, map[string]file{"op/lib/util.py": {data: "U = 1\n"}, "op/a.py": {data: "U = 1\n"}})
	hk, hc, hp := mustHash(t, baseSpec(kept)), mustHash(t, baseSpec(copied)), mustHash(t, baseSpec(plain))
	if hk == hc || hc != hp {
		t.Errorf("kept link %s, followed link %s, plain copy %s: want kept != followed == plain", hk, hc, hp)
	}
}

func TestSymlink_brokenLinksAreErrorsNamingTheLink(t *testing.T) {
	cases := map[string]struct {
		tree map[string]file
		// abs adds links with absolute targets: link path -> target under
		// the repo ("" for the operator's own directory).
		abs  map[string]string
		want []string
	}{
		"dangling": {
			tree: map[string]file{"op/lib/shared": {link: "../../x"}},
			want: []string{`operator source: symlink "lib/shared" points at "../../x", which does not exist; fix or remove the link`},
		},
		"dangling inside the source": {
			tree: map[string]file{"op/gone.py": {link: "was_here.py"}},
			want: []string{`symlink "gone.py" points at "was_here.py", which does not exist`},
		},
		"through a file": {
			tree: map[string]file{"op/a.py": {data: ""}, "op/b": {link: "a.py/c"}},
			want: []string{`symlink "b" points at "a.py/c", which does not exist`},
		},
		"to itself": {
			tree: map[string]file{"op/me": {link: "me"}},
			want: []string{`symlink "me" points at "me", which is a loop of symlinks`, "fix or remove the link"},
		},
		"a to b to a": {
			tree: map[string]file{"op/a": {link: "b"}, "op/b": {link: "a"}},
			want: []string{`symlink "a" points at "b", which is a loop of symlinks`},
		},
		"loop outside the source": {
			tree: map[string]file{"x": {link: "y"}, "y": {link: "x"}, "op/lib": {link: "../x"}},
			want: []string{`symlink "lib" points at "../x", which is a loop of symlinks`},
		},
		"dangling below a followed directory": {
			tree: map[string]file{"shared/gone": {link: "nowhere"}, "op/shared": {link: "../shared"}},
			want: []string{`symlink "shared/gone" (`, `points at "nowhere", which does not exist`},
		},
		"directory link above the source": {
			tree: map[string]file{"op/sub/up": {link: "../.."}},
			want: []string{`symlink "sub/up" points at "../..", which leads back to `, "a directory that contains the link"},
		},
		"followed directory with a link to itself": {
			tree: map[string]file{"shared/a.py": {data: ""}, "shared/again": {link: "."}, "op/shared": {link: "../shared"}},
			want: []string{`symlink "shared/again" (`, `points at ".", which leads back to `},
		},
		"followed directory with a link to an ancestor": {
			tree: map[string]file{"shared/x/y/top": {link: "../.."}, "op/shared": {link: "../shared"}},
			want: []string{`symlink "shared/x/y/top" (`, "a directory that contains the link"},
		},
		"two directories linking to each other": {
			tree: map[string]file{"a/to_b": {link: "../b"}, "b/to_a": {link: "../a"}, "op/a": {link: "../a"}},
			want: []string{`symlink "a/to_b/to_a" (`, "which leads back to"},
		},
		"absolute link to the source root": {
			abs:  map[string]string{"op/lib/root": "op"},
			want: []string{`symlink "lib/root" points at `, "which is the source directory itself"},
		},
		"followed directory with a link to the source root": {
			tree: map[string]file{"shared/a.py": {data: ""}, "op/shared": {link: "../shared"}},
			abs:  map[string]string{"shared/op": "op"},
			want: []string{`symlink "shared/op" (`, "which is the source directory itself"},
		},
		"link above the source root": {
			tree: map[string]file{"op/all": {link: ".."}},
			want: []string{`symlink "all" points at "..", which leads back to`},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			root, op := repo(t, c.tree)
			writeFile(t, filepath.Join(op, "main.py"), "")
			for link, target := range c.abs {
				p := filepath.Join(root, link)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.Join(root, target), p); err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan error, 1)
			go func() { _, err := Hash(baseSpec(op)); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Hash did not return")
			}
			if err == nil {
				t.Fatal("Hash succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			// Build fails the same way, before it needs Docker.
			if _, berr := Build(context.Background(), nil, baseSpec(op), nil, nil); berr == nil || berr.Error() != err.Error() {
				t.Errorf("Build error %v, want Hash's %v", berr, err)
			}
		})
	}
}

func TestSymlink_specialFilesBehindLinksFollowTheUsualRules(t *testing.T) {
	root, op := repo(t, map[string]file{"op/main.py": {data: ""}, "op/pipe": {link: "../fifo"}})
	if err := mkfifo(filepath.Join(root, "fifo")); err != nil {
		t.Skip("mkfifo:", err)
	}
	if _, err := Hash(baseSpec(op)); err == nil || !strings.Contains(err.Error(), `symlink "pipe" points at "../fifo", a`) {
		t.Fatalf("link to a fifo: error %v, want one naming the link", err)
	}

	// Sockets are skipped, as docker skips them (short path: sun_path is small).
	sockDir, err := os.MkdirTemp("", "aq")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	l, err := net.Listen("unix", filepath.Join(sockDir, "s"))
	if err != nil {
		t.Skip("unix socket:", err)
	}
	t.Cleanup(func() { l.Close() })
	if err := os.Remove(filepath.Join(op, "pipe")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(sockDir, "s"), filepath.Join(op, "sock")); err != nil {
		t.Fatal(err)
	}
	_, byName := srcTar(t, op)
	if _, ok := byName["src/sock"]; ok {
		t.Error("a link to a socket reached the context")
	}
}

func TestSymlink_walkIsBounded(t *testing.T) {
	t.Run("directories that each link twice to the next", func(t *testing.T) {
		// 2^24 paths through 24 small directories: no loop, but no end
		// in practice without the bound on links followed.
		tree := map[string]file{"op/main.py": {data: ""}, "op/tree": {link: "../d00"}}
		for i := 0; i < 24; i++ {
			tree[fmt.Sprintf("d%02d/f.py", i)] = file{data: "x"}
			tree[fmt.Sprintf("d%02d/a", i)] = file{link: fmt.Sprintf("../d%02d", i+1)}
			tree[fmt.Sprintf("d%02d/b", i)] = file{link: fmt.Sprintf("../d%02d", i+1)}
		}
		tree["d24/f.py"] = file{data: "x"}
		_, op := repo(t, tree)
		start := time.Now()
		_, err := Hash(baseSpec(op))
		want := fmt.Sprintf("more than %d symlinks to follow", maxFollowedLinks)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `symlink "tree/`) {
			t.Fatalf("error %v, want one containing %q and naming a link", err, want)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("hitting the bound took %v", d)
		}
	})
	t.Run("directory links nested deeper than the bound", func(t *testing.T) {
		tree := map[string]file{"op/main.py": {data: ""}, "op/d": {link: "../d00"}}
		n := maxFollowDepth + 5
		for i := 0; i < n; i++ {
			tree[fmt.Sprintf("d%02d/next", i)] = file{link: fmt.Sprintf("../d%02d", i+1)}
		}
		tree[fmt.Sprintf("d%02d/end.py", n)] = file{data: ""}
		_, op := repo(t, tree)
		_, err := Hash(baseSpec(op))
		want := fmt.Sprintf("more than %d symlinked directories nested", maxFollowDepth)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v, want one containing %q", err, want)
		}
		// Within the bound the same shape is fine.
		tree = map[string]file{"op/main.py": {data: ""}, "op/d": {link: "../d00"}}
		for i := 0; i+1 < maxFollowDepth; i++ {
			tree[fmt.Sprintf("d%02d/next", i)] = file{link: fmt.Sprintf("../d%02d", i+1)}
		}
		tree[fmt.Sprintf("d%02d/end.py", maxFollowDepth-1)] = file{data: ""}
		_, op = repo(t, tree)
		if _, err := Hash(baseSpec(op)); err != nil {
			t.Fatalf("%d nested directory links: %v", maxFollowDepth, err)
		}
	})
	t.Run("entries reached through links", func(t *testing.T) {
		tree := map[string]file{"op/main.py": {data: ""}, "op/big": {link: "../big"}}
		for i := 0; i < 30; i++ {
			tree[fmt.Sprintf("big/f%02d", i)] = file{data: "x"}
		}
		_, op := repo(t, tree)
		if _, err := Hash(baseSpec(op)); err != nil {
			t.Fatal(err)
		}
		old := maxLinkedEntries
		maxLinkedEntries = 20
		t.Cleanup(func() { maxLinkedEntries = old })
		_, err := Hash(baseSpec(op))
		if err == nil || !strings.Contains(err.Error(), "more than 20 files and directories are reached through symlinks") {
			t.Fatalf("error %v, want the bound on entries reached through links", err)
		}
	})
}

func TestBuild_imageHoldsWhatOutsideLinksPointAt(t *testing.T) {
	docker := dockerClient(t)
	ctx := context.Background()
	_, op := repo(t, map[string]file{
		"shared/helper.py":     {data: "def help(x):\n    return x + 1\n"},
		"lib/pkg/__init__.py":  {data: ""},
		"lib/pkg/mod.py":       {data: "M = 41\n"},
		"op/main.py":           {data: "import helper\nfrom pkg import mod\n"},
		"op/helper.py":         {link: "../shared/helper.py"},
		"op/pkg":               {link: "../lib/pkg"},
		"op/alias.py":          {link: "main.py"},
		"op/.dockerignore":     {data: "secret.txt\n"},
		"op/secret.txt":        {data: "s"},
		"op/secret_link.txt":   {link: "secret.txt"},
		"op/nested/helper2.py": {link: "../helper.py"},
	})
	spec := scratchSpec(op)
	id, err := Build(ctx, docker, spec, nil, nil)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	removeImage(t, docker, id)
	files := imageFiles(t, docker, id, "/var/task")
	for name, data := range map[string]string{
		"var/task/helper.py":         "def help(x):\n    return x + 1\n",
		"var/task/pkg/mod.py":        "M = 41\n",
		"var/task/pkg/__init__.py":   "",
		"var/task/secret_link.txt":   "s",
		"var/task/nested/helper2.py": "def help(x):\n    return x + 1\n",
	} {
		f, ok := files[name]
		if !ok || f.link != "" || string(f.data) != data {
			t.Errorf("/%s = %+v (present %v), want a regular file with %q", name, f, ok, data)
		}
	}
	if f := files["var/task/alias.py"]; f.link != "main.py" {
		t.Errorf("/var/task/alias.py = %+v, want the inside link kept", f)
	}
	for name, f := range files {
		if f.link == "" {
			continue
		}
		target := filepath.ToSlash(filepath.Join(filepath.Dir(name), f.link))
		if _, ok := files[target]; !ok {
			t.Errorf("/%s -> %s dangles in the image", name, f.link)
		}
	}

	// With a Python base image, the module behind the link imports: the
	// user's ModuleNotFoundError is gone.
	const base = "aqueduct-local/python:3.11"
	testenv.Image(t, docker, base)
	spec = Spec{SourceDir: op, Function: "main:handler", PythonVersion: "3.11", BaseImage: base}
	id, err = Build(ctx, docker, spec, nil, nil)
	if err != nil {
		t.Fatalf("Build on %s: %v", base, err)
	}
	removeImage(t, docker, id)
	out := runContainer(t, docker, id, []string{"python3", "-c", "import helper, nested.helper2; from pkg import mod; print('got', helper.help(mod.M))"})
	if !strings.Contains(out, "got 42") {
		t.Fatalf("container output %q, want the linked modules to import", out)
	}
}
