// Package plannedsource remembers, per operator, the source hash a plan was
// made with, so that an apply can tell "the source changed after the plan"
// instead of Terraform's "Provider produced inconsistent final plan".
//
// Terraform re-plans every changed resource at apply time, in a new provider
// process, and fails with that message when a planned value differs. An
// operator's source_hash is read from disk, so editing a file between
// `terraform plan -out` and `terraform apply` (or while `terraform apply`
// waits for approval) makes it differ. The protocol does not say whether a
// plan request is the plan or the apply-time re-plan, so this package asks
// the parent process: terraform's (or tofu's) own command line.
//
//   - During a plan (`terraform plan`, or the plan half of an interactive
//     `terraform apply`), the provider records the hash it planned, in a small
//     file under the system's temporary directory keyed by working directory,
//     operator and the hash in state.
//   - During the apply-time re-plan (`terraform apply <planfile>`, or the
//     apply half of an interactive apply in another provider process of the
//     same terraform), it plans the recorded hash again, so Terraform goes on
//     to the apply, where the provider compares it with the files and says
//     exactly what changed.
//
// Where the parent's command line cannot be read (Windows, a provider
// served from a test or debugger), nothing is recorded and every plan reads
// the files, as before.
package plannedsource

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Phase is the terraform command this provider process serves.
type Phase int

const (
	// Unknown: no terraform parent, or its command line cannot be read.
	Unknown Phase = iota
	// Planning: `terraform plan`, or anything but apply.
	Planning
	// Applying: an interactive `terraform apply`, whose plan and apply run
	// in two provider processes of the same terraform.
	Applying
	// ApplyingSavedPlan: `terraform apply <planfile>`.
	ApplyingSavedPlan
)

var (
	phaseOnce sync.Once
	phase     Phase
)

// Current is this process's phase, read once.
func Current() Phase {
	phaseOnce.Do(func() { phase = parse(parentArgs()) })
	return phase
}

// flagsWithValue are terraform apply's flags that may take their value as
// the next argument; anything else not starting with "-" is the plan file.
var flagsWithValue = map[string]bool{
	"-var": true, "-var-file": true, "-target": true, "-replace": true, "-state": true,
	"-state-out": true, "-backup": true, "-lock-timeout": true, "-parallelism": true,
}

// parse reads a terraform or tofu command line.
func parse(args []string) Phase {
	if len(args) == 0 {
		return Unknown
	}
	if bin := filepath.Base(args[0]); !strings.Contains(bin, "terraform") && !strings.Contains(bin, "tofu") {
		return Unknown
	}
	rest := args[1:]
	for len(rest) > 0 && strings.HasPrefix(rest[0], "-") { // global flags: -chdir=DIR
		rest = rest[1:]
	}
	if len(rest) == 0 || rest[0] != "apply" {
		return Planning
	}
	rest = rest[1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if strings.HasPrefix(a, "-") {
			name, _, hasValue := strings.Cut(strings.TrimPrefix(a, "-"), "=")
			if !hasValue && flagsWithValue["-"+name] {
				i++
			}
			continue
		}
		return ApplyingSavedPlan
	}
	return Applying
}

// record is what a plan leaves for its apply.
type record struct {
	Hash    string    `json:"hash"`
	PPID    int       `json:"ppid"` // the terraform that planned
	Written time.Time `json:"written"`
}

// maxAge bounds how long a record is believed: a saved plan older than this
// is re-planned from the files.
const maxAge = 7 * 24 * time.Hour

var dir = filepath.Join(os.TempDir(), "terraform-provider-aqueduct-"+strconv.Itoa(os.Getuid()), "planned-source")

func file(operator, prior string) string {
	cwd, _ := os.Getwd()
	sum := sha256.Sum256([]byte(cwd + "\x00" + operator + "\x00" + prior))
	return filepath.Join(dir, hex.EncodeToString(sum[:16])+".json")
}

// Planned returns the hash to plan for operator, whose state holds prior
// ("" when it is being created), given the hash its files have now. During
// a plan it records current and returns it; during the apply-time re-plan it
// returns what the plan recorded, when there is such a record.
func Planned(operator, prior, current string) string {
	switch Current() {
	case Planning:
		write(operator, prior, current)
	case ApplyingSavedPlan:
		if r, ok := read(operator, prior); ok {
			return r.Hash
		}
	case Applying:
		// The plan and apply halves are two provider processes of one
		// terraform: the first to ask records, the second finds it.
		if r, ok := read(operator, prior); ok && r.PPID == os.Getppid() {
			return r.Hash
		}
		write(operator, prior, current)
	}
	return current
}

// Forget drops the record once its apply is done.
func Forget(operator, prior string) {
	_ = os.Remove(file(operator, prior))
}

func write(operator, prior, hash string) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	b, _ := json.Marshal(record{Hash: hash, PPID: os.Getppid(), Written: time.Now()})
	tmp, err := os.CreateTemp(dir, ".record-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), file(operator, prior)) != nil {
		_ = os.Remove(tmp.Name())
	}
}

func read(operator, prior string) (record, bool) {
	var r record
	b, err := os.ReadFile(file(operator, prior))
	if err != nil || json.Unmarshal(b, &r) != nil || r.Hash == "" || time.Since(r.Written) > maxAge {
		return record{}, false
	}
	return r, true
}
