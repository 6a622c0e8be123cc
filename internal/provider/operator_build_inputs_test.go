package provider

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/testenv"
)

func TestAccOperator_buildInputsBadInputFailsAtPlan(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "req.txt"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := testSource(t, map[string]string{"main.py": "def handler():\n    return 1\n", "requirements.txt": "x\n"})
	if err := os.Symlink(filepath.Join(outside, "req.txt"), filepath.Join(src, "escape.txt")); err != nil {
		t.Fatal(err)
	}
	pipeline := testAccPipeline(testName("eng"), role, bucket, testName("wf"))
	step := func(extra, want string) resource.TestStep {
		return resource.TestStep{Config: pipeline + testAccOperator("a", src, "256", extra), PlanOnly: true, ExpectError: regexp.MustCompile(want)}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			step(`requirements_file = "missing.txt"`, `(?s)requirements_file.*"missing.txt"\s+does\s+not\s+exist\s+in\s+the\s+operator's\s+source`),
			step(`requirements_file = "../req.txt"`, `(?s)requirements_file.*"../req.txt"\s+leads\s+out\s+of\s+the\s+operator's\s+source`),
			step(`requirements_file = "escape.txt"`, `(?s)requirements_file.*"escape.txt"\s+is\s+a\s+symbolic\s+link\s+to\s+.*outside\s+the\s+operator's\s+source`),
			step(`requirements_file = "requirements.txt"
  requirements = ["y"]`, `(?s)requirements_file.*cannot\s+be\s+configured\s+together|Invalid Attribute Combination`),
			step(`python_version = "3.8"`, `(?s)python_version.*"3.8"\s+is\s+not\s+a\s+Python\s+version\s+AWS\s+Lambda.*3.12,\s+3.13,\s+3.14`),
			step(`build_secrets = { PIP_INDEX_URL = { env = "X" } }`, `(?s)build_secrets.*neither\s+requirements\s+nor\s+requirements_file`),
			step(`requirements_file = "requirements.txt"
  build_secrets = { PIP_INDEX_URL = { env = "X", file = "/y" } }`, `(?s)build_secrets.*"PIP_INDEX_URL"\s+needs\s+exactly\s+one\s+of\s+env`),
			step(`requirements_file = "requirements.txt"
  build_secrets = { "1BAD" = { env = "X" } }`, `(?s)build_secrets.*environment\s+variable\s+name`),
		},
	})
}

// wheel writes a minimal pure-Python wheel of tinypkg holding VALUE.
func wheel(t *testing.T, dir, version string, value int) string {
	t.Helper()
	name := fmt.Sprintf("tinypkg-%s-py3-none-any.whl", version)
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	info := "tinypkg-" + version + ".dist-info/"
	files := map[string]string{
		"tinypkg/__init__.py": fmt.Sprintf("VALUE = %d\n", value),
		info + "METADATA":     "Metadata-Version: 2.1\nName: tinypkg\nVersion: " + version + "\n",
		info + "WHEEL":        "Wheel-Version: 1.0\nGenerator: aqueduct-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
	}
	var record strings.Builder
	for _, n := range []string{"tinypkg/__init__.py", info + "METADATA", info + "WHEEL"} {
		w, _ := z.Create(n)
		_, _ = io.WriteString(w, files[n])
		sum := sha256.Sum256([]byte(files[n]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", n, base64.RawURLEncoding.EncodeToString(sum[:]), len(files[n]))
	}
	record.WriteString(info + "RECORD,,\n")
	w, _ := z.Create(info + "RECORD")
	_, _ = io.WriteString(w, record.String())
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// testPackageIndex serves a PEP 503 simple index of tinypkg 1.0 and 2.0 on
// the Docker bridge's gateway, where build steps reach the host. With user
// set, it answers only requests with user and one of passes.
func testPackageIndex(t *testing.T, docker client.APIClient, user string, passes ...string) (host string) {
	t.Helper()
	nw, err := docker.NetworkInspect(context.Background(), "bridge", networkInspectOptions())
	if err != nil || len(nw.IPAM.Config) == 0 {
		t.Fatalf("docker bridge network: %v", err)
	}
	gw := nw.IPAM.Config[0].Gateway
	if gw == "" { // dockerd leaves it out when it picked the default: the subnet's first address
		_, subnet, err := net.ParseCIDR(nw.IPAM.Config[0].Subnet)
		if err != nil {
			t.Fatalf("docker bridge subnet %q: %v", nw.IPAM.Config[0].Subnet, err)
		}
		ip := subnet.IP.To4()
		ip[3]++
		gw = ip.String()
	}
	dir := t.TempDir()
	w1, w2 := wheel(t, dir, "1.0", 1), wheel(t, dir, "2.0", 2)
	ln, err := net.Listen("tcp", net.JoinHostPort(gw, "0"))
	if err != nil {
		t.Fatalf("listening on the bridge gateway %s: %v", gw, err)
	}
	files := http.FileServer(http.Dir(dir))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user != "" {
			if u, p, ok := r.BasicAuth(); !ok || u != user || !slices.Contains(passes, p) {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		switch r.URL.Path {
		case "/simple/", "/simple":
			fmt.Fprint(w, `<html><body><a href="tinypkg/">tinypkg</a></body></html>`)
		case "/simple/tinypkg/", "/simple/tinypkg":
			fmt.Fprintf(w, `<html><body><a href="/files/%s">%s</a><a href="/files/%s">%s</a></body></html>`, w1, w1, w2, w2)
		default:
			http.StripPrefix("/files/", files).ServeHTTP(w, r)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// testPipBaseImage is the local base image plus pip, installed from the
// host's pip wheel (the base images have none and there is no PyPI here).
//
//nolint:unparam // returns the tag so that callers do not repeat it
func testPipBaseImage(t *testing.T, docker client.APIClient) string {
	t.Helper()
	const ref = "aqueduct-test/python-pip:3.11"
	if _, err := docker.ImageInspect(context.Background(), ref); err == nil {
		return ref
	}
	testenv.Image(t, docker, testLocalBaseImage)
	wheels, _ := filepath.Glob("/usr/share/python-wheels/pip-*.whl")
	if len(wheels) == 0 {
		t.Skip("no pip wheel in /usr/share/python-wheels to install pip into the test base image")
	}
	whl, err := os.ReadFile(wheels[0])
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(wheels[0])
	dockerfile := fmt.Sprintf("FROM %s\nCOPY %s /tmp/%s\nRUN python3 /tmp/%s/pip install --break-system-packages --no-index --no-cache-dir /tmp/%s && rm /tmp/%s\n",
		testLocalBaseImage, name, name, name, name, name)
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	for n, data := range map[string][]byte{"Dockerfile": []byte(dockerfile), name: whl} {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	resp, err := docker.ImageBuild(context.Background(), &ctxTar, build.ImageBuildOptions{Tags: []string{ref}, Remove: true, Version: build.BuilderV1})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(out), `"error"`) {
		t.Fatalf("building %s: %s", ref, out)
	}
	return ref
}

// noLeak is a plan check: the plan, as JSON, holds none of the secrets.
type noLeak []string

func (n noLeak) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	b, _ := json.Marshal(req.Plan)
	for _, s := range n {
		if bytes.Contains(b, []byte(s)) {
			resp.Error = fmt.Errorf("the plan holds the secret %q", s)
		}
	}
}

// testAccCheckNoSecretAnywhere looks for the secrets in the state, the
// image's history and config (docker CLI, as a user would) and the registry's
// manifest and config blob.
func testAccCheckNoSecretAnywhere(t *testing.T, addr string, secrets ...string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		st, _ := json.Marshal(s)
		var blobs [][]byte
		blobs = append(blobs, st)
		img := s.RootModule().Resources[addr].Primary.Attributes["image_uri"]
		for _, args := range [][]string{{"history", "--no-trunc", img}, {"image", "inspect", img}, {"manifest", "inspect", "--insecure", img}} {
			out, err := exec.Command("docker", args...).CombinedOutput()
			if err != nil && args[0] != "manifest" { // manifest inspect needs experimental CLI on some versions
				return fmt.Errorf("docker %v: %v: %s", args, err, out)
			}
			blobs = append(blobs, out)
		}
		cfg, manifest, err := registryConfigAndManifest(t, img)
		if err != nil {
			return err
		}
		blobs = append(blobs, cfg, manifest)
		for _, b := range blobs {
			for _, sec := range secrets {
				if bytes.Contains(b, []byte(sec)) {
					return fmt.Errorf("found the secret %q in %.200s", sec, b)
				}
			}
		}
		return nil
	}
}

func TestAccOperator_requirementsFileAndBuildSecrets(t *testing.T) {
	testAccPreCheck(t)
	docker := testenv.Docker(t)
	base := testPipBaseImage(t, docker)
	const user, token, rotated = "ci-bot", "tok-3f9c2a7e5b1d", "tok-rotated-77c1e0"
	host := testPackageIndex(t, docker, user, token, rotated)
	ip, _, _ := net.SplitHostPort(host)
	t.Setenv("AQ_TEST_PRIVATE_INDEX", fmt.Sprintf("http://%s:%s@%s/simple/", user, token, host))

	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{
		"main.py":               "import tinypkg\n\ndef handler():\n    return {'value': tinypkg.VALUE}\n",
		"deps/requirements.txt": "--trusted-host " + ip + "\ntinypkg==1.0\n",
	})
	cfg := testAccPipeline(eng, role, bucket, wf) + fmt.Sprintf(`
resource "aqueduct_operator" "train" {
  workflow_id       = aqueduct_workflow.test.id
  name              = "train"
  source            = %s
  function          = "main:handler"
  base_image        = %s
  memory            = 256
  requirements_file = "deps/requirements.txt"
  build_secrets = {
    PIP_INDEX_URL = { env = "AQ_TEST_PRIVATE_INDEX" }
  }
}

data "aqueduct_invocation" "run" {
  artifacts = [aqueduct_operator.train.artifact]
}
`, hcl(src), hcl(base))
	addr, ds := "aqueduct_operator.train", "data.aqueduct_invocation.run"
	hash := statecheck.CompareValue(compare.ValuesDiffer())
	leaks := noLeak{token, rotated}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckPipelineGone(t, eng, bucket),
		Steps: []resource.TestStep{
			{
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{leaks}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("train").AtMapKey("output"), knownvalue.StringExact(`{"value":1}`)),
					hash.AddStateValue(addr, tfjsonpath.New("source_hash")),
				},
				Check: testAccCheckNoSecretAnywhere(t, addr, token),
			},
			{
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// Editing the requirements file rebuilds and runs again.
				PreConfig: func() {
					if err := os.WriteFile(filepath.Join(src, "deps", "requirements.txt"), []byte("--trusted-host "+ip+"\ntinypkg==2.0\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(addr, tfjsonpath.New("image_uri")),
					leaks,
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("train").AtMapKey("output"), knownvalue.StringExact(`{"value":2}`)),
					hash.AddStateValue(addr, tfjsonpath.New("source_hash")),
				},
				Check: testAccCheckNoSecretAnywhere(t, addr, token),
			},
			{
				// A changed secret value is invisible to the plan; the version rebuilds.
				PreConfig: func() {
					t.Setenv("AQ_TEST_PRIVATE_INDEX", fmt.Sprintf("http://%s:%s@%s/simple/", user, rotated, host))
				},
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				Config: strings.Replace(cfg, `requirements_file = "deps/requirements.txt"`, `requirements_file = "deps/requirements.txt"
  build_secrets_version = "2"`, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(addr, tfjsonpath.New("image_uri")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{hash.AddStateValue(addr, tfjsonpath.New("source_hash"))},
				Check:             testAccCheckNoSecretAnywhere(t, addr, token, rotated),
			},
			{
				ResourceName:            addr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "memory"},
			},
		},
	})
}

func networkInspectOptions() network.InspectOptions { return network.InspectOptions{} }

// registryConfigAndManifest reads an image's manifest and config blob from
// the emulator's registry, as Lambda would pull them.
func registryConfigAndManifest(t *testing.T, img string) (cfg, manifest []byte, err error) {
	ref, err := name.ParseReference(img, name.Insecure)
	if err != nil {
		return nil, nil, err
	}
	tok, err := testClients(t).ECR.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, nil, err
	}
	raw, _ := base64.StdEncoding.DecodeString(aws.ToString(tok.AuthorizationData[0].AuthorizationToken))
	u, p, _ := strings.Cut(string(raw), ":")
	image, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: u, Password: p}))
	if err != nil {
		return nil, nil, err
	}
	if cfg, err = image.RawConfigFile(); err != nil {
		return nil, nil, err
	}
	manifest, err = image.RawManifest()
	return cfg, manifest, err
}
