// Package awsconfig builds the AWS SDK clients the provider uses from the
// provider block and the standard AWS environment, in the AWS provider's
// conventions. Clients are built once and shared.
package awsconfig

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Services whose endpoint can be overridden, as named in the `endpoints` block
// and in AWS_ENDPOINT_URL_<SERVICE>.
var Services = []string{"lambda", "ecr", "s3", "iam", "sts", "sfn", "scheduler", "logs"}

// Settings are the provider block's values. Empty means "not set", so the
// SDK's own sources (environment, shared files, IMDS) apply.
type Settings struct {
	Region                 string
	Profile                string
	SharedConfigFiles      []string
	SharedCredentialsFiles []string
	AccessKey              string
	SecretKey              string
	Token                  string
	Endpoints              map[string]string // service -> URL
	S3UsePathStyle         bool
	MaxRetries             int // 0 means AWS_MAX_ATTEMPTS, else DefaultMaxRetries
}

// Transports are shared by every client of every configuration of the
// provider process: a provider configured again (as acceptance tests do for
// every command) reuses its connections instead of leaving idle pools
// behind. The SDK's BuildableClient would be copied, with a transport of its
// own, by every service client, so clients get a plain *http.Client on a
// shared transport with the same TLS settings (a custom CA bundle).
var (
	transportsMu sync.Mutex
	transports   []*http.Transport
)

// shareTransport returns a client on a shared transport equivalent to c's.
func shareTransport(c aws.HTTPClient) aws.HTTPClient {
	b, ok := c.(*awshttp.BuildableClient)
	if !ok {
		return c
	}
	t := b.GetTransport()
	transportsMu.Lock()
	defer transportsMu.Unlock()
	for _, s := range transports {
		if sameRoots(s.TLSClientConfig, t.TLSClientConfig) {
			return &http.Client{Transport: s}
		}
	}
	transports = append(transports, t)
	return &http.Client{Transport: t}
}

func sameRoots(a, b *tls.Config) bool {
	switch {
	case a == nil || b == nil:
		return a == nil && b == nil
	case a.RootCAs == nil || b.RootCAs == nil:
		return a.RootCAs == nil && b.RootCAs == nil
	}
	return a.RootCAs.Equal(b.RootCAs)
}

// DefaultMaxRetries is the AWS provider's default number of attempts per
// call: enough to ride out throttling and 5xx bursts during an apply.
const DefaultMaxRetries = 25

// ConfigError is a configuration problem that names the provider attribute
// to fix.
type ConfigError struct {
	Attribute string
	Message   string
}

func (e *ConfigError) Error() string { return e.Message }

// Clients holds one SDK client per service for one region.
type Clients struct {
	Config aws.Config
	Region string
	Lambda *lambda.Client
	ECR    *ecr.Client
	S3     *s3.Client
	IAM    *iam.Client
	STS    *sts.Client
	// SFN is AWS Step Functions, where server-side runs execute; Scheduler
	// is EventBridge Scheduler, which starts them on a schedule.
	SFN       *sfn.Client
	Scheduler *scheduler.Client
	// Logs is CloudWatch Logs, which keeps the functions' log groups.
	Logs *cloudwatchlogs.Client

	settings Settings
	mu       sync.Mutex
	regions  map[string]*Clients
}

// Load resolves the AWS configuration and builds the clients.
func Load(ctx context.Context, s Settings) (*Clients, error) {
	if (s.AccessKey == "") != (s.SecretKey == "") {
		attr := "secret_key"
		if s.AccessKey == "" {
			attr = "access_key"
		}
		return nil, &ConfigError{Attribute: attr, Message: "access_key and secret_key must be set together; set both, or neither to use the environment, a profile or shared credentials"}
	}
	var opts []func(*config.LoadOptions) error
	if s.Region != "" {
		opts = append(opts, config.WithRegion(s.Region))
	}
	if s.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(s.Profile))
	}
	if len(s.SharedConfigFiles) > 0 {
		opts = append(opts, config.WithSharedConfigFiles(s.SharedConfigFiles))
	}
	if len(s.SharedCredentialsFiles) > 0 {
		opts = append(opts, config.WithSharedCredentialsFiles(s.SharedCredentialsFiles))
	}
	if s.AccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, s.Token)))
	}
	attempts := s.MaxRetries
	if attempts <= 0 {
		attempts = DefaultMaxRetries
		if n, err := strconv.Atoi(os.Getenv("AWS_MAX_ATTEMPTS")); err == nil && n > 0 {
			attempts = n
		}
	}
	opts = append(opts, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			// As the AWS provider does: no client-side retry quota, which a
			// burst of throttling would exhaust and then fail calls at once.
			o.RateLimiter = ratelimit.None
		})
	}))
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		var profileErr config.SharedConfigProfileNotExistError
		if errors.As(err, &profileErr) {
			return nil, &ConfigError{Attribute: "profile", Message: fmt.Sprintf("profile %q is not in the shared config files; check `profile`, AWS_PROFILE and `shared_config_files`", profileErr.Profile)}
		}
		return nil, &ConfigError{Attribute: "profile", Message: "loading the AWS configuration: " + err.Error()}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = shareTransport(cfg.HTTPClient)
	if cfg.Region == "" {
		return nil, &ConfigError{Attribute: "region", Message: "no AWS region is configured; set `region` in the provider block, AWS_REGION, or a region in the shared config profile"}
	}
	return build(cfg, s), nil
}

func build(cfg aws.Config, s Settings) *Clients {
	pathStyle := s.S3UsePathStyle || endpointOverridden(cfg, s, "s3")
	c := &Clients{Config: cfg, Region: cfg.Region, settings: s}
	c.Lambda = lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = endpoint(s, "lambda", o.BaseEndpoint) })
	c.ECR = ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.BaseEndpoint = endpoint(s, "ecr", o.BaseEndpoint) })
	c.S3 = s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = endpoint(s, "s3", o.BaseEndpoint)
		o.UsePathStyle = pathStyle
	})
	c.IAM = iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = endpoint(s, "iam", o.BaseEndpoint) })
	c.STS = sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = endpoint(s, "sts", o.BaseEndpoint) })
	c.SFN = sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.BaseEndpoint = endpoint(s, "sfn", o.BaseEndpoint) })
	c.Scheduler = scheduler.NewFromConfig(cfg, func(o *scheduler.Options) { o.BaseEndpoint = endpoint(s, "scheduler", o.BaseEndpoint) })
	c.Logs = cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = endpoint(s, "logs", o.BaseEndpoint) })
	return c
}

// ForRegion returns clients for another region with the same credentials
// and endpoints, built once per region.
func (c *Clients) ForRegion(region string) *Clients {
	if region == "" || region == c.Region {
		return c
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.regions[region]; ok {
		return r
	}
	cfg := c.Config.Copy()
	cfg.Region = region
	r := build(cfg, c.settings)
	if c.regions == nil {
		c.regions = map[string]*Clients{}
	}
	c.regions[region] = r
	return r
}

// endpoint keeps the SDK's resolution (AWS_ENDPOINT_URL[_SERVICE], shared
// config) unless the provider block names one.
func endpoint(s Settings, service string, resolved *string) *string {
	if u := s.Endpoints[service]; u != "" {
		return aws.String(u)
	}
	return resolved
}

// endpointOverridden reports whether service talks to a custom endpoint,
// which for S3 means path-style addressing: local S3 servers have no
// per-bucket DNS.
func endpointOverridden(cfg aws.Config, s Settings, service string) bool {
	if s.Endpoints[service] != "" || cfg.BaseEndpoint != nil {
		return true
	}
	if os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") == "true" {
		return false
	}
	return os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_"+envName(service)) != ""
}

func envName(service string) string {
	b := []byte(service)
	for i, ch := range b {
		if ch >= 'a' && ch <= 'z' {
			b[i] = ch - 'a' + 'A'
		}
	}
	return string(b)
}
