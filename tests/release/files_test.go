package release

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/zclconf/go-cty/cty"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
	aqueduct "github.com/aqueduct/terraform-provider-aqueduct/internal/provider"
)

// TestLicense_isMPL2: the full Mozilla Public License 2.0, as the Terraform
// ecosystem ships it, not a stub or a header.
func TestLicense_isMPL2(t *testing.T) {
	text := readFile(t, filepath.Join(repoRoot(t), "LICENSE"))
	if first, _, _ := strings.Cut(text, "\n"); first != "Mozilla Public License Version 2.0" {
		t.Fatalf("LICENSE starts %q; want the MPL-2.0 title", first)
	}
	for _, section := range []string{
		"1. Definitions", "2. License Grants and Conditions", "3. Responsibilities",
		"4. Inability to Comply Due to Statute or Regulation", "5. Termination",
		"6. Disclaimer of Warranty", "7. Limitation of Liability", "8. Litigation",
		"9. Miscellaneous", "10. Versions of the License",
		"Exhibit A - Source Code Form License Notice",
		`Exhibit B - "Incompatible With Secondary Licenses" Notice`,
	} {
		if !strings.Contains(text, section) {
			t.Errorf("LICENSE lacks MPL-2.0's %q", section)
		}
	}
	// The full text is about 16,700 characters.
	if len(text) < 16000 {
		t.Errorf("LICENSE has %d characters; the full MPL-2.0 text has about 16,700", len(text))
	}
}

// TestChangelog_hasUnreleasedEntries: Keep a Changelog's Unreleased section,
// with at least one entry under it.
func TestChangelog_hasUnreleasedEntries(t *testing.T) {
	text := readFile(t, filepath.Join(repoRoot(t), "CHANGELOG.md"))
	_, after, ok := strings.Cut(text, "\n## [Unreleased]\n")
	if !ok {
		t.Fatal("CHANGELOG.md has no '## [Unreleased]' heading")
	}
	section, _, _ := strings.Cut(after, "\n## ")
	if !regexp.MustCompile(`(?m)^### (Added|Changed|Deprecated|Removed|Fixed|Security)$`).MatchString(section) {
		t.Error("CHANGELOG.md's Unreleased section has no Keep a Changelog '### Added' (or Changed, Fixed, ...) heading")
	}
	if !regexp.MustCompile(`(?m)^- \S`).MatchString(section) {
		t.Error("CHANGELOG.md's Unreleased section lists no change")
	}
}

// importIDParsers says how each resource's ImportState reads its id.
var importIDParsers = map[string]func(string) error{
	"aqueduct_lambda_resource": func(s string) error { _, err := ids.ParseEngine(s, ""); return err },
	"aqueduct_workflow":        func(s string) error { _, err := ids.ParseWorkflow(s); return err },
	"aqueduct_operator":        func(s string) error { _, err := ids.ParseOperator(s); return err },
	"aqueduct_schedule":        func(s string) error { _, err := ids.ParseSchedule(s); return err },
}

// TestImportExamples_matchTheProvider: every resource that implements
// ImportState has examples/resources/<type>/import-by-string-id.tf, whose
// import block targets a resource of that type declared in the sibling
// resource.tf, with an id that the resource's id parser accepts; and the
// generated page shows it.
func TestImportExamples_matchTheProvider(t *testing.T) {
	root := repoRoot(t)
	ctx := context.Background()
	p := aqueduct.New("test")()
	var pm provider.MetadataResponse
	p.Metadata(ctx, provider.MetadataRequest{}, &pm)

	var importable []string
	types := map[string]bool{}
	for _, newResource := range p.Resources(ctx) {
		r := newResource()
		var m resource.MetadataResponse
		r.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: pm.TypeName}, &m)
		types[m.TypeName] = true
		if _, ok := r.(resource.ResourceWithImportState); ok {
			importable = append(importable, m.TypeName)
		}
	}
	if len(importable) == 0 {
		t.Fatal("no resource implements ImportState")
	}

	files, err := filepath.Glob(filepath.Join(root, "examples", "resources", "*", "import-by-string-id.tf"))
	if err != nil {
		t.Fatal(err)
	}
	var examples []string
	for _, f := range files {
		typ := filepath.Base(filepath.Dir(f))
		examples = append(examples, typ)
		t.Run(typ, func(t *testing.T) {
			if !types[typ] {
				t.Fatalf("%s: the provider has no resource %s (it has %v)", rel(root, f), typ, keys(types))
			}
			declared := resourceBlocks(t, filepath.Join(filepath.Dir(f), "resource.tf"))
			imports := importBlocks(t, f)
			if len(imports) == 0 {
				t.Fatalf("%s has no import block", rel(root, f))
			}
			for _, imp := range imports {
				if imp.typ != typ {
					t.Errorf("%s imports into %s.%s, not a %s", rel(root, f), imp.typ, imp.name, typ)
				}
				if !slices.Contains(declared, imp.typ+"."+imp.name) {
					t.Errorf("%s imports into %s.%s, which resource.tf does not declare (it has %v)", rel(root, f), imp.typ, imp.name, declared)
				}
				parse, ok := importIDParsers[typ]
				if !ok {
					t.Fatalf("no id parser known for %s: add it to importIDParsers", typ)
				}
				if err := parse(imp.id); err != nil {
					t.Errorf("%s: id %q is not a %s import id: %v", rel(root, f), imp.id, typ, err)
				}
			}
			page := filepath.Join(root, "docs", "resources", strings.TrimPrefix(typ, pm.TypeName+"_")+".md")
			if doc := readFile(t, page); !strings.Contains(doc, "import {") {
				t.Errorf("%s does not show the import block: run 'make generate'", rel(root, page))
			}
		})
	}
	sort.Strings(importable)
	sort.Strings(examples)
	if !slices.Equal(importable, examples) {
		t.Errorf("resources implementing ImportState %v, import-by-string-id.tf examples %v: want one example each", importable, examples)
	}
}

type importBlock struct{ typ, name, id string }

func parseHCL(t *testing.T, path string) *hclsyntax.Body {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		t.Fatalf("%s: not native HCL syntax", path)
	}
	return body
}

func importBlocks(t *testing.T, path string) []importBlock {
	t.Helper()
	var out []importBlock
	for _, b := range parseHCL(t, path).Blocks {
		if b.Type != "import" {
			continue
		}
		to, id := b.Body.Attributes["to"], b.Body.Attributes["id"]
		if to == nil || id == nil {
			t.Fatalf("%s: an import block needs to and id", path)
		}
		tr, diags := hcl.AbsTraversalForExpr(to.Expr)
		if diags.HasErrors() || len(tr) != 2 {
			t.Fatalf("%s: to is not <type>.<name>: %s", path, diags.Error())
		}
		name, ok := tr[1].(hcl.TraverseAttr)
		if !ok {
			t.Fatalf("%s: to is not <type>.<name>", path)
		}
		v, diags := id.Expr.Value(nil)
		if diags.HasErrors() || !v.Type().Equals(cty.String) {
			t.Fatalf("%s: id is not a literal string", path)
		}
		out = append(out, importBlock{typ: tr.RootName(), name: name.Name, id: v.AsString()})
	}
	return out
}

// resourceBlocks lists the "<type>.<name>" a file declares.
func resourceBlocks(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for _, b := range parseHCL(t, path).Blocks {
		if b.Type == "resource" && len(b.Labels) == 2 {
			out = append(out, b.Labels[0]+"."+b.Labels[1])
		}
	}
	return out
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil {
		return r
	}
	return p
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
