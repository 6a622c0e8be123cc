package memorytype_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/memorytype"
)

// lambdaMB stands for the function's memory in Lambda, which the test-only
// resource writes on apply and reads back, as a plain number of MB, on refresh.
var lambdaMB int64

// The memory type and its plan modifier through the real Terraform CLI.
func TestAccMemoryType_spellingsOfOneSizeShowNoDiff(t *testing.T) {
	const addr = "memtest_function.f"
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: map[string]func() (tfprotov6.ProviderServer, error){
			"memtest": providerserver.NewProtocol6WithError(&testProvider{}),
		},
		Steps: []tfresource.TestStep{
			{
				Config: config(`"1GB"`),
				// The refresh after apply read back "1024": still the config's spelling.
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("memory"), knownvalue.StringExact("1GB")),
				},
			},
			{
				Config:           config(`"1024MB"`),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				Config:           config(`1024`),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				Config: config(`"1.5gb"`),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("memory"), knownvalue.StringExact("1.5gb")),
				},
			},
			{
				// A change made outside Terraform is drift, and is planned away.
				PreConfig: func() { lambdaMB = 2048 },
				Config:    config(`"1.5gb"`),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					if lambdaMB != 1536 {
						return fmt.Errorf("memory in Lambda is %d MB; want 1536", lambdaMB)
					}
					return nil
				},
			},
		},
	})
}

func TestAccMemoryType_badSizesFailAtPlan(t *testing.T) {
	steps := []tfresource.TestStep{}
	for cfg, msg := range map[string]string{
		`"16GB"`:  `memory "16GB" is 16384 MB; AWS Lambda allows 128 to 10240 MB`,
		`16384`:   `memory "16384" is 16384 MB; AWS Lambda allows 128 to 10240 MB`,
		`"abc"`:   `memory "abc" is not a size`,
		`"0MB"`:   `memory "0MB" is zero`,
		`"-1GB"`:  `memory "-1GB" is negative`,
		`"10 TB"`: `memory "10 TB" has unit "TB", which is not MB or GB`,
		`"1.1MB"`: `memory "1.1MB" is 1.1 MB, not a whole number of MB`,
	} {
		// Terraform wraps long diagnostics, so any space may be a line break.
		re := regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(msg), " ", `\s+`))
		steps = append(steps, tfresource.TestStep{Config: config(cfg), PlanOnly: true, ExpectError: re})
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: map[string]func() (tfprotov6.ProviderServer, error){
			"memtest": providerserver.NewProtocol6WithError(&testProvider{}),
		},
		Steps: steps,
	})
}

func config(memory string) string {
	return "resource \"memtest_function\" \"f\" {\n  memory = " + memory + "\n}\n"
}

type testProvider struct{}

func (p *testProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "memtest"
}
func (p *testProvider) Schema(context.Context, provider.SchemaRequest, *provider.SchemaResponse) {}
func (p *testProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}
func (p *testProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{func() resource.Resource { return &testFunction{} }}
}
func (p *testProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }

type testFunction struct{}

type testFunctionModel struct {
	ID     types.String      `tfsdk:"id"`
	Memory memorytype.Memory `tfsdk:"memory"`
}

func (r *testFunction) Metadata(_ context.Context, _ resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = "memtest_function"
}

func (r *testFunction) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{Attributes: map[string]schema.Attribute{
		"id": schema.StringAttribute{Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
		"memory": schema.StringAttribute{
			Required:      true,
			CustomType:    memorytype.MemoryType{},
			PlanModifiers: []planmodifier.String{memorytype.UseStateForSameSize()},
		},
	}}
}

func (r *testFunction) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m testFunctionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	m.ID = types.StringValue("f")
	r.write(&m, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// Read answers as Lambda would: memory as a number of MB.
func (r *testFunction) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m testFunctionModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	m.Memory = memorytype.NewMemoryMB(lambdaMB)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *testFunction) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m testFunctionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	r.write(&m, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *testFunction) write(m *testFunctionModel, diags *diag.Diagnostics) {
	mb, d := m.Memory.MB()
	diags.Append(d...)
	lambdaMB = mb
}

func (r *testFunction) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}
