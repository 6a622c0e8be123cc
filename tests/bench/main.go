// Command bench measures the provider end to end and prints one table:
// the real terraform CLI, the provider built from this tree (through
// dev_overrides, package clitest), the local Docker engine, and the AWS
// emulator running in this process. `make bench` runs it after the micro
// benchmarks:
//
//	go run ./tests/bench [-runs 5]
//
// It measures, in one run:
//
//  1. a no-op `terraform plan` of a pipeline of 1, 10 and 50 operators, and
//     of configurations with no resources (terraform's floor), as the median
//     of -runs plans after a warm-up;
//  2. `terraform apply` of a memory-only change and of a one-file source
//     change to 1 of 10 operators;
//  3. the quickstart (examples/quickstart, copied): the run's wall time and
//     invocations, full and after editing evaluate, and a second plan's;
//  4. the run's wall time over the DAG's critical path, for a warm diamond
//     of operators that each sleep 2 s.
//
// Setup (the applies that build images and start containers) is not
// measured. Figures are printed with their targets and never fail the run:
// it exits 1 only when something does not work (an apply fails, a plan is
// not empty, a count of invocations is wrong), after printing what it
// measured. It destroys what it applied, stops the emulator and removes the
// images it pushed from the local Docker engine; the emulator's log stays in
// .cache/bench/emulator.log.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/clitest"
)

func main() {
	runs := flag.Int("runs", 5, "timed no-op plans of each configuration, after one warm-up")
	flag.Parse()
	if *runs < 1 {
		fmt.Fprintln(os.Stderr, "bench: -runs must be at least 1")
		os.Exit(2)
	}
	start := time.Now()

	s, err := newSession()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	b := &bench{s: s, t: &table{}, runs: *runs}
	// An interrupt stops the measurements at the next step; the cleanup
	// still runs. terraform, in the same process group, gets the terminal's
	// interrupt itself and stops.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		b.interrupted.Store(true)
		logf("interrupted: stopping after this step, then cleaning up")
	}()

	runErr := s.run(func() {
		b.t.title = b.title()
		b.l = startLab(s, filepath.Join(clitest.RepoRoot(), ".cache", "bench", "emulator.log"))
		b.plansAndUpdates()
		b.quickstart()
		b.diamond()
	})
	if runErr != nil {
		logf("failed: %v", runErr)
		logf("the emulator's log: %s", filepath.Join(clitest.RepoRoot(), ".cache", "bench", "emulator.log"))
	}
	logf("cleaning up")
	s.close()
	if err := clitest.RemoveProviderBuild(); err != nil {
		logf("removing the provider build: %v", err)
	}

	if runErr != nil {
		b.t.title = append(b.t.title, "STOPPED EARLY: "+firstLine(runErr.Error()))
	}
	done := fmt.Sprintf("Measured in one run of `go run ./tests/bench` that took %s, setup and cleanup included", since(start))
	if l := loadAverage(); l != "" {
		done += "; load average " + l + " at the end"
	}
	b.t.title = append(b.t.title, done+".")
	fmt.Println()
	b.t.print(os.Stdout)
	for _, p := range b.t.problems {
		fmt.Fprintln(os.Stderr, "bench: wrong count:", p)
	}
	if runErr != nil || len(b.t.problems) > 0 {
		os.Exit(1)
	}
}

// bench holds what the benchmarks share.
type bench struct {
	s           *session
	l           *lab
	t           *table
	runs        int
	interrupted atomic.Bool
}

// step logs what comes next, and ends the measurements after an interrupt.
func (b *bench) step(format string, args ...any) {
	if b.interrupted.Load() {
		b.s.Fatal("interrupted")
	}
	logf(format, args...)
}

// apply runs terraform apply and returns its wall time.
func (b *bench) apply(w *clitest.Workspace, what string, args ...string) time.Duration {
	start := time.Now()
	out, code := w.Run(append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, args...)...)
	d := time.Since(start)
	if code != 0 {
		b.s.Fatalf("terraform apply of %s exited %d:\n%s", what, code, tail(out, 60))
	}
	logf("  applied %s in %s", what, secs(d))
	return d
}

// plan runs a no-op terraform plan and returns its wall time; a plan that
// is not empty ends the measurements.
func (b *bench) plan(w *clitest.Workspace, what string) time.Duration {
	start := time.Now()
	out, code := w.Run("plan", "-input=false", "-no-color", "-detailed-exitcode")
	d := time.Since(start)
	if code != 0 {
		b.s.Fatalf("terraform plan -detailed-exitcode of %s exited %d, want 0 (no changes):\n%s", what, code, tail(out, 60))
	}
	return d
}

// medianPlan is the median wall time of b.runs no-op plans after a warm-up.
// The plans must invoke nothing.
func (b *bench) medianPlan(w *clitest.Workspace, what string) time.Duration {
	before := b.l.invocations()
	b.plan(w, what)
	ds := make([]time.Duration, b.runs)
	for i := range ds {
		ds[i] = b.plan(w, what)
	}
	if n := b.l.invocations() - before; n != 0 {
		b.t.problems = append(b.t.problems, fmt.Sprintf("the no-op plans of %s invoked %d functions, want 0", what, n))
	}
	slices.Sort(ds)
	m := ds[len(ds)/2]
	if len(ds)%2 == 0 {
		m = (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
	}
	logf("  plan of %s: median %s of %v", what, secs(m), ds)
	return m
}

// runResult is what the configurations output about their run.
type runResult struct {
	Invoked    int
	DurationMS int
	Statuses   map[string]string
}

func (b *bench) outputs(w *clitest.Workspace) runResult {
	out := w.Must("output", "-json", "-no-color")
	var o map[string]struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		b.s.Fatalf("reading terraform output -json: %v\n%s", err, out)
	}
	var r runResult
	for name, dst := range map[string]any{"invoked": &r.Invoked, "run_duration_ms": &r.DurationMS, "statuses": &r.Statuses} {
		v, ok := o[name]
		if !ok {
			if name == "statuses" {
				continue
			}
			b.s.Fatalf("terraform output has no %q:\n%s", name, out)
		}
		if err := json.Unmarshal(v.Value, dst); err != nil {
			b.s.Fatalf("output %q: %v", name, err)
		}
	}
	return r
}

// destroy destroys a workspace's resources now, to free the containers and
// images before the next benchmark; its cleanup then has nothing to do.
func (b *bench) destroy(w *clitest.Workspace, what string) {
	start := time.Now()
	if out, code := w.Run("destroy", "-auto-approve", "-input=false", "-no-color"); code != 0 {
		b.s.Fatalf("terraform destroy of %s exited %d:\n%s", what, code, tail(out, 60))
	}
	_ = os.Remove(filepath.Join(w.Dir, "terraform.tfstate"))
	logf("  destroyed %s in %s", what, secs(time.Since(start)))
}

// plansAndUpdates measures 1 and 2 on one pipeline that grows from 1 to 10
// to 50 operators; the updates happen at 10.
func (b *bench) plansAndUpdates() {
	plans := b.t.section("1. No-op `terraform plan` (refresh included): median of %d after 1 warm-up; (+x) is above the floor", b.runs)
	updates := b.t.section("2. `terraform apply` of a change to op9, a leaf of the 10-operator pipeline: one apply each")

	b.step("1. no-op plans: configurations with no resources")
	floor := b.medianPlan(b.l.workspace("the empty configuration", emptyConfig), "the empty configuration")
	plans.add("no resources, no provider: terraform's floor", secs(floor))
	above := func(d time.Duration) string { return fmt.Sprintf("%s (+%s)", secs(d), secs(d-floor)) }
	provider := b.medianPlan(b.l.workspace("the provider-only configuration", providerOnlyConfig), "the provider-only configuration")
	plans.add("provider required, no resources", above(provider))

	p := pipeline{memory: map[int]int{}, edited: map[int]string{}}
	w := b.l.workspace("the pipeline", nil)
	added := 0
	for _, n := range []int{1, 10, 50} {
		what := "the pipeline of " + operators(n)
		b.step("1. no-op plans: %s (setup: apply and run %s more)", what, operators(n-added))
		p.n = n
		w.Write(p.files())
		before := b.l.invocations()
		b.apply(w, what)
		invoked, emulator := b.outputs(w).Invoked, b.l.invocations()-before
		plan := b.medianPlan(w, what)
		figure := fmt.Sprintf("pipeline of %s and its run", operators(n))
		if n == 50 {
			plans.check(figure, above(plan), "< 1 s above floor", plan-floor < time.Second)
		} else {
			plans.add(figure, above(plan))
		}
		plans.countPair(fmt.Sprintf("  setup: the run of %s added (invoked / emulator)", operators(n-added)), invoked, emulator, n-added)
		added = n

		if n != 10 {
			continue
		}
		const leaf = 9 // op9 takes op4's output; nothing takes op9's.
		b.step("2. apply a memory-only change to op9, 1 of 10 operators")
		p.memory[leaf] = 512
		w.Write(p.files())
		before, images := b.l.invocations(), b.l.images()
		d := b.apply(w, "a memory-only change of op9")
		updates.add("memory only, 256 -> 512 MB: function configuration", secs(d))
		updates.count("  images built", b.l.images()-images, 0)
		updates.count("  invocations (emulator)", b.l.invocations()-before, 0)

		b.step("2. apply a one-file source change to op9, 1 of 10 operators")
		p.edited[leaf] = edit()
		w.Write(p.files())
		before, images = b.l.invocations(), b.l.images()
		d = b.apply(w, "a source change of op9")
		updates.add("one source file: build, push, update, run op9 again", secs(d))
		updates.count("  images built", b.l.images()-images, 1)
		updates.countPair("  invocations (invoked / emulator)", b.outputs(w).Invoked, b.l.invocations()-before, 1)
	}
	b.destroy(w, "the pipeline")
}

// quickstart measures 3: the example's full run against its run after an
// edit of evaluate, and a second plan.
func (b *bench) quickstart() {
	t := b.t.section("3. The quickstart (examples/quickstart copied, 5 operators on %s): the run's own wall time, run_duration_ms", mlBaseImage)
	b.step("3. the quickstart: setup apply (5 images on %s, 5 functions) and its full run", mlBaseImage)
	files, err := readTree(filepath.Join(clitest.RepoRoot(), "examples", "quickstart"))
	if err != nil {
		b.s.Fatalf("copying examples/quickstart: %v", err)
	}
	w := b.l.workspace("the quickstart", files)
	w.Env = append(w.Env, "TF_VAR_base_image="+mlBaseImage)
	before := b.l.invocations()
	b.apply(w, "the quickstart")
	full := b.outputs(w)
	t.add("full run, in the first apply (cold containers)", secs(msecs(full.DurationMS)))
	t.countPair("  invocations (invoked / emulator)", full.Invoked, b.l.invocations()-before, 5)

	b.step("3. the quickstart: edit evaluate and apply")
	evaluate := filepath.Join(w.Dir, "operators", "evaluate", "evaluate.py")
	f, err := os.OpenFile(evaluate, os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString("\n" + edit())
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		b.s.Fatalf("editing %s: %v", evaluate, err)
	}
	before = b.l.invocations()
	b.apply(w, "the quickstart after editing evaluate")
	rerun := b.outputs(w)
	share := float64(rerun.DurationMS) / float64(max(full.DurationMS, 1))
	t.check("run after a one-line edit of evaluate", fmt.Sprintf("%s = %.0f %% of full", secs(msecs(rerun.DurationMS)), 100*share), "<= 30 % of full", share <= 0.30)
	t.countPair("  invocations (invoked / emulator)", rerun.Invoked, b.l.invocations()-before, 1)

	b.step("3. the quickstart: a second plan")
	before = b.l.invocations()
	b.plan(w, "the quickstart after the edit")
	t.count("a second plan: exit 0, invocations (emulator)", b.l.invocations()-before, 0)
	b.destroy(w, "the quickstart")
}

// diamond measures 4: a warm run's wall time over the DAG's critical path.
func (b *bench) diamond() {
	t := b.t.section("4. A diamond a -> {b, c} -> d, each sleeping %d s, warm, rerun = true: the run's wall time over its critical path", diamondSleepSeconds)
	b.step("4. the diamond: setup apply and a first run, which starts the containers")
	w := b.l.workspace("the diamond", diamondConfig())
	b.apply(w, "the diamond")

	b.step("4. the diamond: a warm run of every operator (rerun = true)")
	before := b.l.invocations()
	b.apply(w, "the diamond with rerun = true", "-var", "rerun=true")
	r := b.outputs(w)
	t.countPair("invocations (invoked / emulator)", r.Invoked, b.l.invocations()-before, 4)
	for name, status := range r.Statuses {
		if status != "succeeded" {
			b.t.problems = append(b.t.problems, fmt.Sprintf("diamond: operator %s is %q after a rerun, want succeeded", name, status))
		}
	}
	wall := msecs(r.DurationMS)
	critical := 3 * diamondSleepSeconds * time.Second
	ratio := wall.Seconds() / critical.Seconds()
	t.add("run wall time (run_duration_ms)", secs(wall))
	t.add("critical path: a, b or c, d", secs(critical))
	t.check("wall time / critical path", fmt.Sprintf("%.3f", ratio), "<= 1.15", ratio <= 1.15)
	b.destroy(w, "the diamond")
}

// title says where and with what the figures were measured.
func (b *bench) title() []string {
	tf := "terraform"
	if out, err := exec.Command(clitest.TerraformPath(b.s), "version", "-json").Output(); err == nil {
		var v struct {
			Version string `json:"terraform_version"`
		}
		if json.Unmarshal(out, &v) == nil {
			tf = "terraform " + v.Version
		}
	}
	docker := "Docker"
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Output(); err == nil {
		docker = "Docker " + strings.TrimSpace(string(out))
	}
	return []string{
		fmt.Sprintf("aqueduct end-to-end benchmarks, %s: %s", time.Now().Format("2006-01-02"), machine()),
		fmt.Sprintf("%s, the provider built from this tree (dev_overrides), %s, the AWS emulator in-process.", tf, docker),
		"Setup (the applies that build images and start containers) is not measured; each section says what is.",
	}
}

// machine is the CPU count and model and the memory of this machine.
func machine() string {
	model, memGB := "", ""
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		_ = f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var kb int
			if _, err := fmt.Sscanf(sc.Text(), "MemTotal: %d kB", &kb); err == nil {
				memGB = fmt.Sprintf(", %.0f GB RAM", float64(kb)/(1<<20))
				break
			}
		}
		_ = f.Close()
	}
	s := fmt.Sprintf("%d cores", runtime.NumCPU())
	if model != "" {
		s += " (" + model + ")"
	}
	s += memGB + ", " + runtime.GOOS + "/" + runtime.GOARCH
	if l := loadAverage(); l != "" {
		s += ", load average " + l + " at start"
	}
	return s
}

// loadAverage is the 1-minute load average, or "" where there is none.
// Other work on the machine shows in the figures; the load says how much.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return ""
}

// edit is a line to append to an operator's source: a comment, unique to
// this run, so that the image is built anew rather than found in Docker's
// build cache.
func edit() string {
	return "# Edited by the benchmark at " + time.Now().Format(time.RFC3339Nano) + ": a new lineage for this operator alone.\n"
}

// operators is "1 operator" or "n operators".
func operators(n int) string {
	if n == 1 {
		return "1 operator"
	}
	return fmt.Sprintf("%d operators", n)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
