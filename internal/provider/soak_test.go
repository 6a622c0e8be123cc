package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/lambda/runner"
)

// soakHeapBound is what the whole test process (emulator, registry blobs
// in memory, provider servers) may hold in use after the soak. The base
// image's layers, pushed once to the in-memory registry, are most of it.
const soakHeapBound = 256 << 20

// soakOp is one operator of the soak pipeline.
type soakOp struct {
	version int
	memory  int
	mode    string
	inputs  []int
}

// 20 apply cycles, each one random single-operator change (source, memory,
// environment or inputs). After each, a plan is empty; after the last, the
// emulator holds exactly what the state describes; after destroy no
// container is left for the deleted functions, and neither goroutines nor
// memory have grown past the bounds stated here. AQUEDUCT_SOAK_SEED repeats
// a run; the seed is logged.
func TestAccSoak_randomChangesLeaveNothingBehind(t *testing.T) {
	testAccPreCheck(t)
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("AQUEDUCT_SOAK_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("soak seed %d (set AQUEDUCT_SOAK_SEED to repeat)", seed)
	rng := rand.New(rand.NewPCG(seed, 7))

	role, bucket := testFixtures(t)
	eng, wf := testName("soak"), testName("wf")
	root := t.TempDir()
	const n, cycles = 4, 20
	ops := make([]soakOp, n)
	for i := range ops {
		ops[i] = soakOp{memory: 256, mode: "m0"}
		if i > 0 {
			ops[i].inputs = []int{i - 1}
		}
	}
	srcDir := func(i int) string { return filepath.Join(root, fmt.Sprintf("op%d", i)) }
	writeSource := func(i, version int) {
		body := fmt.Sprintf("import os\n\ndef run(*inputs):\n    return {'op': %d, 'v': %d, 'mode': os.environ.get('MODE'), 'n': len(inputs)}\n", i, version)
		if err := os.MkdirAll(srcDir(i), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(srcDir(i), "main.py"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range ops {
		writeSource(i, 0)
	}
	config := func() string {
		cfg := testAccPipeline(eng, role, bucket, wf)
		for i, o := range ops {
			var in []string
			for _, j := range o.inputs {
				in = append(in, fmt.Sprintf("aqueduct_operator.op%d.artifact", j))
			}
			cfg += fmt.Sprintf(`
resource "aqueduct_operator" "op%[1]d" {
  workflow_id = aqueduct_workflow.test.id
  name        = "op%[1]d"
  source      = %[2]s
  function    = "main:run"
  base_image  = %[3]s
  memory      = %[4]d
  environment = { MODE = %[5]q }
  inputs      = [%[6]s]
}
`, i, hcl(srcDir(i)), hcl(testLocalBaseImage), o.memory, o.mode, strings.Join(in, ", "))
		}
		return cfg
	}

	// The cycles are chosen up front: a step's config is fixed before its
	// PreConfig runs, so PreConfig only writes the source files.
	steps := []resource.TestStep{{Config: config()}}
	var changes []string
	for c := 1; c <= cycles; c++ {
		i := rng.IntN(n)
		step := resource.TestStep{
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		}
		switch rng.IntN(4) {
		case 0:
			ops[i].version++
			version := ops[i].version
			step.PreConfig = func() { writeSource(i, version) }
			changes = append(changes, fmt.Sprintf("%d source of op%d", c, i))
		case 1:
			ops[i].memory = []int{128, 384, 512, 1024}[rng.IntN(4)]
			changes = append(changes, fmt.Sprintf("%d memory of op%d", c, i))
		case 2:
			ops[i].mode = fmt.Sprintf("m%d", c)
			changes = append(changes, fmt.Sprintf("%d environment of op%d", c, i))
		default:
			var in []int
			for j := range i { // earlier operators only: the DAG stays acyclic
				if rng.IntN(2) == 0 {
					in = append(in, j)
				}
			}
			ops[i].inputs = in
			changes = append(changes, fmt.Sprintf("%d inputs of op%d", c, i))
		}
		step.Config = config()
		steps = append(steps, step)
	}
	t.Logf("changes: %s", strings.Join(changes, ", "))
	// The last cycle also runs the pipeline, so the emulator starts function
	// containers that destroy must leave no trace of.
	var deps []string
	for i := range ops {
		deps = append(deps, fmt.Sprintf("aqueduct_operator.op%d.artifact", i))
	}
	last := &steps[len(steps)-1]
	last.Config += fmt.Sprintf("\ndata \"aqueduct_invocation\" \"run\" {\n  artifacts = [%s]\n}\n", strings.Join(deps, ", "))
	var functions []string
	last.Check = func(s *terraform.State) error {
		attrs := s.RootModule().Resources["data.aqueduct_invocation.run"].Primary.Attributes
		for i, o := range ops {
			want := map[string]any{"mode": o.mode, "n": float64(len(o.inputs)), "op": float64(i), "v": float64(o.version)}
			var got map[string]any
			raw := attrs[fmt.Sprintf("operators.op%d.output", i)]
			if err := json.Unmarshal([]byte(raw), &got); err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("op%d returned %s, want %v: the run did not use what was applied", i, raw, want)
			}
		}
		for _, r := range s.RootModule().Resources {
			if r.Type == "aqueduct_operator" {
				functions = append(functions, r.Primary.Attributes["function_name"])
			}
		}
		return testEmulatorMatchesState(t, s, eng, bucket, wf)
	}

	runtime.GC()
	goroutinesBefore := runtime.NumGoroutine()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckPipelineGone(t, eng, bucket),
		Steps:                    steps,
	})
	if t.Failed() {
		return
	}

	if left := testFunctionContainers(t, functions); len(left) > 0 {
		t.Errorf("containers left for deleted functions: %v", left)
	}
	// Provider servers of finished terraform commands have stopped by now.
	deadline := time.Now().Add(10 * time.Second)
	after := runtime.NumGoroutine()
	for after > goroutinesBefore+goroutineSlack && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		after = runtime.NumGoroutine()
	}
	t.Logf("goroutines: %d before the soak, %d after (bound: +%d)", goroutinesBefore, after, goroutineSlack)
	if after > goroutinesBefore+goroutineSlack {
		ss, _ := exec.Command("ss", "-tnp").CombinedOutput()
		t.Logf("sockets:\n%s", ss)
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines grew from %d to %d over the soak:\n%s", goroutinesBefore, after, buf[:runtime.Stack(buf, true)])
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("heap in use after the soak: %d MB (bound %d MB)", ms.HeapInuse>>20, soakHeapBound>>20)
	if ms.HeapInuse > soakHeapBound {
		t.Errorf("heap in use %d MB, over the %d MB bound", ms.HeapInuse>>20, soakHeapBound>>20)
	}
}

// goroutineSlack covers pools that grow once and stay (HTTP keep-alive
// connections to the emulator, the SDK's resolvers); a leak per apply cycle
// would exceed it within the 21 applies.
const goroutineSlack = 40

// testEmulatorMatchesState checks that the engine's functions, images and
// manifests are exactly those the state's operators name.
func testEmulatorMatchesState(t *testing.T, s *terraform.State, eng, bucket, wf string) error {
	var wantFns, wantManifests []string
	wantImages := map[string]bool{}
	for _, r := range s.RootModule().Resources {
		if r.Type != "aqueduct_operator" {
			continue
		}
		a := r.Primary.Attributes
		wantFns = append(wantFns, a["function_name"])
		wantManifests = append(wantManifests, path.Join(testEngineRoot(eng), "workflows", wf, "operators", a["name"]+".json"))
		_, digest, _ := strings.Cut(a["image_uri"], "@")
		wantImages[digest] = true
	}
	sort.Strings(wantFns)
	sort.Strings(wantManifests)
	fns := testEngineFunctions(t, eng)
	sort.Strings(fns)
	if fmt.Sprint(fns) != fmt.Sprint(wantFns) {
		return fmt.Errorf("the emulator has functions %v, the state %v", fns, wantFns)
	}
	if got := testKeys(t, bucket, path.Join(testEngineRoot(eng), "workflows", wf, "operators")+"/"); fmt.Sprint(got) != fmt.Sprint(wantManifests) {
		return fmt.Errorf("the emulator has manifests %v, the state %v", got, wantManifests)
	}
	images := testImages(t, eng)
	for _, d := range images {
		if !wantImages[d] {
			return fmt.Errorf("image %s is in the repository but no operator runs it (images %v)", d, images)
		}
	}
	if len(images) != len(wantImages) {
		return fmt.Errorf("the repository holds %d images, the state names %d", len(images), len(wantImages))
	}
	return nil
}

// testFunctionContainers lists the emulator's containers that run one of
// the named functions.
func testFunctionContainers(t *testing.T, functions []string) []string {
	t.Helper()
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()
	var left []string
	for _, fn := range functions {
		list, err := docker.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(
			filters.Arg("label", runner.LabelInstance+"="+testEmulator.Lambda().Instance()),
			filters.Arg("label", runner.LabelFunction+"="+fn),
		)})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			left = append(left, fn+": "+c.ID[:12]+" "+c.State)
		}
	}
	return left
}
