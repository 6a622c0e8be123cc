package statefile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/statefile"
)

type state struct {
	Names []string `json:"names"`
}

func TestSaveThenLoadRoundTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "state.json")
	if err := statefile.Save(path, state{Names: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	var got state
	if err := statefile.Load(path, &got); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Names, ",") != "a,b" {
		t.Errorf("loaded %+v", got)
	}
}

func TestSaveReplacesTheFileAndLeavesNoTemporary(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, names := range [][]string{{"old", "longer", "list"}, {"new"}} {
		if err := statefile.Save(path, state{Names: names}); err != nil {
			t.Fatal(err)
		}
	}
	var got state
	if err := statefile.Load(path, &got); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Names, ",") != "new" {
		t.Errorf("loaded %+v, want only the second save", got)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "state.json" {
		t.Errorf("data dir holds %v, want state.json alone", entries)
	}
}

// A leftover temporary from a crash mid-save does not stop the next save.
func TestSaveOverwritesALeftoverTemporary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path+".tmp", []byte("half a fi"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := statefile.Save(path, state{Names: []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	var got state
	if err := statefile.Load(path, &got); err != nil || len(got.Names) != 1 {
		t.Errorf("loaded %+v, %v", got, err)
	}
}

func TestLoadOfAMissingFileIsNothingSaved(t *testing.T) {
	got := state{Names: []string{"untouched"}}
	if err := statefile.Load(filepath.Join(t.TempDir(), "absent.json"), &got); err != nil {
		t.Fatalf("Load = %v, want nil", err)
	}
	if strings.Join(got.Names, ",") != "untouched" {
		t.Errorf("v changed to %+v", got)
	}
}

func TestLoadOfACorruptFileNamesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte(`{"names": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	var got state
	err := statefile.Load(path, &got)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load = %v, want an error naming %s", err, path)
	}
}

// A save that fails keeps what the last good save wrote.
func TestAFailedSaveKeepsTheOldFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := statefile.Save(path, state{Names: []string{"kept"}}); err != nil {
		t.Fatal(err)
	}
	if err := statefile.Save(path, map[string]any{"f": func() {}}); err == nil {
		t.Fatal("Save of a func succeeded")
	}
	var got state
	if err := statefile.Load(path, &got); err != nil || strings.Join(got.Names, ",") != "kept" {
		t.Errorf("loaded %+v, %v; want the last good save", got, err)
	}
}
