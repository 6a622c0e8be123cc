// Package provider holds the Terraform types: the provider configuration and
// one file per resource or data source. AWS and Docker details live in the
// packages underneath.
package provider

import (
	"context"
	"maps"
	"os"
	"sync"

	"github.com/docker/docker/client"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/awsconfig"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/engine"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/images"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/tags"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/validators"
)

var _ provider.Provider = (*aqueductProvider)(nil)

// New returns the provider factory for providerserver.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &aqueductProvider{version: version} }
}

type aqueductProvider struct {
	version string
}

// providerModel is the provider block.
type providerModel struct {
	Region                 types.String      `tfsdk:"region"`
	Profile                types.String      `tfsdk:"profile"`
	SharedConfigFiles      types.List        `tfsdk:"shared_config_files"`
	SharedCredentialsFiles types.List        `tfsdk:"shared_credentials_files"`
	AccessKey              types.String      `tfsdk:"access_key"`
	SecretKey              types.String      `tfsdk:"secret_key"`
	Token                  types.String      `tfsdk:"token"`
	MaxRetries             types.Int64       `tfsdk:"max_retries"`
	Endpoints              *endpointsModel   `tfsdk:"endpoints"`
	S3UsePathStyle         types.Bool        `tfsdk:"s3_use_path_style"`
	DockerHost             types.String      `tfsdk:"docker_host"`
	DefaultTags            *defaultTagsModel `tfsdk:"default_tags"`
	IgnoreTags             *ignoreTagsModel  `tfsdk:"ignore_tags"`
	connectionModel                          // provider_connection.go
}

type endpointsModel struct {
	Lambda    types.String `tfsdk:"lambda"`
	ECR       types.String `tfsdk:"ecr"`
	S3        types.String `tfsdk:"s3"`
	IAM       types.String `tfsdk:"iam"`
	STS       types.String `tfsdk:"sts"`
	SFN       types.String `tfsdk:"sfn"`
	Scheduler types.String `tfsdk:"scheduler"`
	Logs      types.String `tfsdk:"logs"`
}

// ProviderData is what Configure hands every resource and data source.
type ProviderData struct {
	AWS *awsconfig.Clients
	// Tags are default_tags and ignore_tags.
	Tags *tags.Config
	// Docker returns the Docker client, made on first use so that plan,
	// refresh and the data source never need a Docker engine.
	Docker func() (client.APIClient, error)

	engines     engine.Cache
	claims      images.Claims
	envKeys     keyCache
	planReaders sync.Map // engine root -> *cachingReader
}

func (p *aqueductProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "aqueduct"
	resp.Version = p.version
}

func (p *aqueductProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	endpoint := func(service, env string) schema.StringAttribute {
		return schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "Endpoint URL for " + service + ", e.g. `http://127.0.0.1:4566` for the local emulator. Also read from `AWS_ENDPOINT_URL_" + env + "` or `AWS_ENDPOINT_URL`.",
			Validators:          []validator.String{validators.URLWithScheme("http", "https")},
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Runs ML pipelines on AWS Lambda: each operator of a workflow becomes its own container image and Lambda function. " +
			"AWS settings follow the AWS provider's conventions and fall back to the standard AWS environment variables and shared files.",
		Attributes: map[string]schema.Attribute{
			"region": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "AWS region. Defaults to `AWS_REGION`, `AWS_DEFAULT_REGION` or the profile's region.",
			},
			"profile": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Named profile in the shared config files. Defaults to `AWS_PROFILE`.",
			},
			"shared_config_files": schema.ListAttribute{
				Optional:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "Shared config files. Defaults to `AWS_CONFIG_FILE` or `~/.aws/config`.",
			},
			"shared_credentials_files": schema.ListAttribute{
				Optional:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "Shared credentials files. Defaults to `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`.",
			},
			"access_key": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "Static access key. Prefer the environment or a profile; set together with `secret_key`.",
			},
			"secret_key": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "Static secret key, set together with `access_key`.",
			},
			"token": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "Session token for temporary static credentials.",
			},
			"max_retries": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Maximum attempts per AWS API call, including the first, for throttling and transient errors, 1 to 100. Defaults to `AWS_MAX_ATTEMPTS`, else 25 as in the AWS provider.",
				Validators:          maxRetriesValidators(),
			},
			"s3_use_path_style": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: "Address S3 buckets by path (`http://host/bucket/key`). Always on when an S3 endpoint override is set.",
			},
			"docker_host": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Docker Engine address used to build operator images, e.g. `unix:///var/run/docker.sock`. Defaults to `DOCKER_HOST`. Only `terraform apply` of an operator whose source changed needs a Docker engine.",
			},
		},
		Blocks: map[string]schema.Block{
			"endpoints": schema.SingleNestedBlock{
				MarkdownDescription: "Custom service endpoints, for a local AWS emulator or a LocalStack-style endpoint.",
				Attributes: map[string]schema.Attribute{
					"lambda":    endpoint("AWS Lambda", "LAMBDA"),
					"ecr":       endpoint("Amazon ECR (API and registry)", "ECR"),
					"s3":        endpoint("Amazon S3", "S3"),
					"iam":       endpoint("AWS IAM", "IAM"),
					"sts":       endpoint("AWS STS", "STS"),
					"sfn":       endpoint("AWS Step Functions", "SFN"),
					"scheduler": endpoint("Amazon EventBridge Scheduler", "SCHEDULER"),
					"logs":      endpoint("Amazon CloudWatch Logs", "CLOUDWATCH_LOGS"),
				},
			},
		},
	}
	for k, a := range connectionAttributes() {
		resp.Schema.Attributes[k] = a
	}
	for k, b := range connectionBlocks() {
		resp.Schema.Blocks[k] = b
	}
	maps.Copy(resp.Schema.Blocks, tagsBlocks())
}

func (p *aqueductProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Unknown values (from resources not yet created) cannot configure clients.
	for attr, v := range map[string]interface{ IsUnknown() bool }{
		"region": m.Region, "profile": m.Profile, "access_key": m.AccessKey, "secret_key": m.SecretKey, "token": m.Token, "docker_host": m.DockerHost,
	} {
		if v.IsUnknown() {
			resp.Diagnostics.AddAttributeError(path.Root(attr), "Unknown provider configuration value",
				"The provider cannot be configured with a value known only after apply. Set `"+attr+"` to a literal or a variable, or leave it out to use the environment.")
		}
	}
	for _, p := range m.unknown() {
		resp.Diagnostics.AddAttributeError(p, "Unknown provider configuration value",
			"The provider cannot be configured with a value known only after apply. Set it to a literal or a variable.")
	}
	if resp.Diagnostics.HasError() {
		return
	}

	s := awsconfig.Settings{
		Region:         m.Region.ValueString(),
		Profile:        m.Profile.ValueString(),
		AccessKey:      m.AccessKey.ValueString(),
		SecretKey:      m.SecretKey.ValueString(),
		Token:          m.Token.ValueString(),
		S3UsePathStyle: m.S3UsePathStyle.ValueBool(),
		MaxRetries:     int(m.MaxRetries.ValueInt64()),
		Endpoints:      map[string]string{},
	}
	resp.Diagnostics.Append(m.SharedConfigFiles.ElementsAs(ctx, &s.SharedConfigFiles, false)...)
	resp.Diagnostics.Append(m.SharedCredentialsFiles.ElementsAs(ctx, &s.SharedCredentialsFiles, false)...)
	resp.Diagnostics.Append(m.settings(ctx, &s)...)
	if e := m.Endpoints; e != nil {
		for name, v := range map[string]types.String{"lambda": e.Lambda, "ecr": e.ECR, "s3": e.S3, "iam": e.IAM, "sts": e.STS, "sfn": e.SFN, "scheduler": e.Scheduler, "logs": e.Logs} {
			if v.ValueString() != "" {
				s.Endpoints[name] = v.ValueString()
			}
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}

	tagCfg := tagsConfig(ctx, m.DefaultTags, m.IgnoreTags, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	clients, err := awsconfig.Load(ctx, s)
	if err != nil {
		attr := "region"
		if ce, ok := err.(*awsconfig.ConfigError); ok {
			attr = ce.Attribute
		}
		resp.Diagnostics.AddAttributeError(path.Root(attr), "Invalid AWS configuration", err.Error())
		return
	}

	dockerHost := m.DockerHost.ValueString()
	data := &ProviderData{AWS: clients, Tags: tagCfg, Docker: lazyDocker(dockerHost)}
	resp.ResourceData = data
	resp.DataSourceData = data
}

// lazyDocker makes the Docker client on first use. Clients are shared by
// host across configurations of the provider process, so reconfiguring it
// leaves no idle connections behind.
func lazyDocker(host string) func() (client.APIClient, error) {
	return func() (client.APIClient, error) {
		dockerMu.Lock()
		defer dockerMu.Unlock()
		if c, ok := dockerClients[host]; ok {
			return c, nil
		}
		opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
		if host != "" {
			opts = append(opts, client.WithHost(host))
		} else if os.Getenv("DOCKER_HOST") == "" {
			opts = append(opts, client.WithHost(client.DefaultDockerHost))
		}
		c, err := client.NewClientWithOpts(opts...)
		if err != nil {
			return nil, err
		}
		dockerClients[host] = c
		return c, nil
	}
}

var (
	dockerMu      sync.Mutex
	dockerClients = map[string]client.APIClient{}
)

func (p *aqueductProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewLambdaResource,
		NewWorkflowResource,
		NewOperatorResource,
		NewScheduleResource,
	}
}

func (p *aqueductProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewInvocationDataSource,
		NewScheduleRunsDataSource,
	}
}
