// Package awsconfig builds the AWS SDK clients the provider uses from the
// provider block and the standard AWS environment, in the AWS provider's
// conventions. Clients are built once and shared.
package awsconfig

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
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
	MaxRetries             int    // 0 means AWS_MAX_ATTEMPTS, else DefaultMaxRetries
	RetryMode              string // standard or adaptive; "" means AWS_RETRY_MODE, else standard
	AssumeRole             *AssumeRole
	WebIdentity            *WebIdentity
	AllowedAccountIDs      []string
	ForbiddenAccountIDs    []string
	HTTP                   HTTPSettings
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
	// Transport is the HTTP transport the clients use (custom CA bundle,
	// proxies), for the provider's other HTTP traffic: the image registry.
	Transport http.RoundTripper
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
	mode := s.RetryMode
	if mode == "" {
		mode = os.Getenv("AWS_RETRY_MODE")
	}
	retryer, err := newRetryer(mode, attempts)
	if err != nil {
		return nil, err
	}
	opts = append(opts, config.WithRetryer(retryer))
	transport, err := Transport(s.HTTP)
	if err != nil {
		return nil, err
	}
	// The SDK applies AWS_CA_BUNDLE to its own client, which is then
	// replaced: Transport has applied it (or custom_ca_bundle) already.
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		var profileErr config.SharedConfigProfileNotExistError
		if errors.As(err, &profileErr) {
			return nil, &ConfigError{Attribute: "profile", Message: fmt.Sprintf("profile %q is not in the shared config files; check `profile`, AWS_PROFILE and `shared_config_files`", profileErr.Profile)}
		}
		return nil, &ConfigError{Attribute: "profile", Message: "loading the AWS configuration: " + err.Error()}
	}
	cfg.HTTPClient = &http.Client{Transport: transport}
	if cfg.Region == "" {
		return nil, &ConfigError{Attribute: "region", Message: "no AWS region is configured; set `region` in the provider block, AWS_REGION, or a region in the shared config profile"}
	}
	if err := roleCredentials(&cfg, s); err != nil {
		return nil, err
	}
	if err := checkSession(ctx, cfg, s); err != nil {
		return nil, err
	}
	c := build(cfg, s)
	c.Transport = transport
	if err := checkAccount(ctx, c.STS, s); err != nil {
		return nil, err
	}
	return c, nil
}

// newRetryer is the SDK's standard or adaptive retryer with attempts per
// call and, as the AWS provider has it, no client-side retry quota: a burst
// of throttling would exhaust it and then fail calls at once.
func newRetryer(mode string, attempts int) (func() aws.Retryer, error) {
	standard := func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.RateLimiter = ratelimit.None
	}
	switch aws.RetryMode(mode) {
	case "", aws.RetryModeStandard:
		return func() aws.Retryer { return retry.NewStandard(standard) }, nil
	case aws.RetryModeAdaptive:
		return func() aws.Retryer {
			return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
				o.StandardOptions = append(o.StandardOptions, standard)
			})
		}, nil
	}
	return nil, &ConfigError{Attribute: "retry_mode", Message: fmt.Sprintf("retry mode %q (from retry_mode or AWS_RETRY_MODE) is not one of standard, adaptive", mode)}
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
	r.Transport = c.Transport
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
