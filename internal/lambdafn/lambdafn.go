// Package lambdafn manages the Lambda function behind each operator: create,
// read, update, delete and invoke, with the SDK's waiters and with retries for
// the transient failures Lambda is known for (IAM propagation, updates in
// progress, throttling).
package lambdafn

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Config is the desired state of a function.
type Config struct {
	Name        string
	ImageURI    string // repo@sha256:...
	RoleARN     string
	Description string
	// Zero leaves a value to Lambda: its default on create, unchanged on update.
	MemoryMB    int32
	TimeoutS    int32
	EphemeralMB int32
	// Architecture is x86_64 or arm64; empty means Lambda's default (x86_64).
	Architecture string
	Environment  map[string]string
	// Tags is the full set of tags: on update, tags not listed are removed
	// (except AWS's own aws:* tags).
	Tags map[string]string
	// KeepTag, when set, says which tags missing from Tags an update leaves
	// on the function: those another tool manages (ignore_tags).
	KeepTag func(key string) bool
	Settings
}

// Function is a function as GetFunction reports it.
type Function struct {
	Name                   string
	ARN                    string
	ImageURI               string // Code.ImageUri, as configured
	ResolvedImageURI       string // Code.ResolvedImageUri, always by digest
	CodeSha256             string
	RoleARN                string
	Description            string
	State                  string
	StateReason            string
	LastUpdateStatus       string
	LastUpdateStatusReason string
	LastModified           string
	Architecture           string
	MemoryMB               int32
	TimeoutS               int32
	EphemeralMB            int32
	Environment            map[string]string
	Tags                   map[string]string
	Settings
}

// InvokeResult is the answer of a synchronous invocation. A function error
// (the handler raised) is not a Go error: FunctionError says so and Payload
// holds the error document.
type InvokeResult struct {
	Payload       []byte
	FunctionError string
	LogTail       string // the last 4 KB of the log, decoded
	StatusCode    int32
	// RequestID is Lambda's id of the invocation, which its log lines name.
	RequestID string
}

// API is the part of the Lambda client this package uses; *lambda.Client
// satisfies it.
type API interface {
	lambda.GetFunctionAPIClient
	CreateFunction(context.Context, *lambda.CreateFunctionInput, ...func(*lambda.Options)) (*lambda.CreateFunctionOutput, error)
	UpdateFunctionCode(context.Context, *lambda.UpdateFunctionCodeInput, ...func(*lambda.Options)) (*lambda.UpdateFunctionCodeOutput, error)
	UpdateFunctionConfiguration(context.Context, *lambda.UpdateFunctionConfigurationInput, ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error)
	DeleteFunction(context.Context, *lambda.DeleteFunctionInput, ...func(*lambda.Options)) (*lambda.DeleteFunctionOutput, error)
	Invoke(context.Context, *lambda.InvokeInput, ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
	TagResource(context.Context, *lambda.TagResourceInput, ...func(*lambda.Options)) (*lambda.TagResourceOutput, error)
	UntagResource(context.Context, *lambda.UntagResourceInput, ...func(*lambda.Options)) (*lambda.UntagResourceOutput, error)
}

// Options tune waiting and retrying. The zero value of a field means its default.
type Options struct {
	// WaitTimeout bounds one waiter when ctx has no deadline. Default 15m:
	// Lambda can keep an image function Pending for minutes while it
	// optimizes the image.
	WaitTimeout time.Duration
	// WaiterMinDelay and WaiterMaxDelay bound the waiters' polling interval.
	// Defaults 1s and 10s (the SDK's own maximum of 300s is too slow to
	// notice a state change during an apply).
	WaiterMinDelay, WaiterMaxDelay time.Duration
	// IAMPropagationTimeout is how long a freshly made role may be rejected
	// before the error is final. Default 2m, as the AWS provider does.
	IAMPropagationTimeout time.Duration
	// MaxAttempts bounds calls repeated for throttling and update conflicts,
	// on top of the SDK retryer's own attempts. Default 10.
	MaxAttempts int
	// RetryMinDelay and RetryMaxDelay bound the backoff between those
	// attempts. Defaults 500ms and 10s.
	RetryMinDelay, RetryMaxDelay time.Duration
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.WaitTimeout, 15*time.Minute)
	def(&o.WaiterMinDelay, time.Second)
	def(&o.WaiterMaxDelay, 10*time.Second)
	def(&o.IAMPropagationTimeout, 2*time.Minute)
	def(&o.RetryMinDelay, 500*time.Millisecond)
	def(&o.RetryMaxDelay, 10*time.Second)
	if o.WaiterMaxDelay < o.WaiterMinDelay {
		o.WaiterMaxDelay = o.WaiterMinDelay
	}
	if o.RetryMaxDelay < o.RetryMinDelay {
		o.RetryMaxDelay = o.RetryMinDelay
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
}

// Client manages Lambda functions.
type Client struct {
	api  API
	opts Options
}

// New returns a Client on api (usually a *lambda.Client).
func New(api API, optFns ...func(*Options)) *Client {
	c := &Client{api: api}
	for _, fn := range optFns {
		fn(&c.opts)
	}
	c.opts.setDefaults()
	return c
}

// Create creates an image function and waits until it is Active. When the
// function was created but the wait failed (or ctx ended), it returns both the
// function as created and the error, so the caller can record what exists.
func (c *Client) Create(ctx context.Context, cfg Config) (*Function, error) {
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(cfg.Name),
		PackageType:  types.PackageTypeImage,
		Code:         &types.FunctionCode{ImageUri: aws.String(cfg.ImageURI)},
		Role:         aws.String(cfg.RoleARN),
		Description:  aws.String(cfg.Description),
		MemorySize:   positive(cfg.MemoryMB),
		Timeout:      positive(cfg.TimeoutS),
		Publish:      false,
	}
	if cfg.EphemeralMB > 0 {
		in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(cfg.EphemeralMB)}
	}
	if cfg.Architecture != "" {
		in.Architectures = []types.Architecture{types.Architecture(cfg.Architecture)}
	}
	if len(cfg.Environment) > 0 {
		in.Environment = &types.Environment{Variables: cfg.Environment}
	}
	if len(cfg.Tags) > 0 {
		in.Tags = cfg.Tags
	}
	if cfg.VPC != nil {
		in.VpcConfig = cfg.vpcConfig()
	}
	in.TracingConfig = cfg.tracingConfig()
	in.LoggingConfig = cfg.loggingConfig()
	if cfg.KMSKeyARN != "" {
		in.KMSKeyArn = aws.String(cfg.KMSKeyARN)
	}
	var created *lambda.CreateFunctionOutput
	err := c.call(ctx, cfg.Name, retryThrottle|retryIAM, func() (err error) {
		created, err = c.api.CreateFunction(ctx, in)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("creating Lambda function %q: %w", cfg.Name, err)
	}
	out, err := c.waitActive(ctx, cfg.Name)
	if err != nil {
		// The function exists: say so, so the caller can record it.
		return &Function{Name: cfg.Name, ARN: aws.ToString(created.FunctionArn), ImageURI: cfg.ImageURI, State: string(created.State), Tags: cfg.Tags}, err
	}
	fn := toFunction(out)
	if err := c.syncConcurrency(ctx, fn, cfg.ReservedConcurrency); err != nil {
		return fn, err
	}
	return fn, nil
}

// Get reads a function. The error wraps ErrNotFound when it does not exist.
func (c *Client) Get(ctx context.Context, name string) (*Function, error) {
	var out *lambda.GetFunctionOutput
	err := c.call(ctx, name, retryThrottle, func() (err error) {
		out, err = c.api.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading Lambda function %q: %w", name, err)
	}
	return toFunction(out), nil
}

// UpdateCode points the function at a new image and waits for the update.
func (c *Client) UpdateCode(ctx context.Context, name, imageURI, arch string) (*Function, error) {
	in := &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ImageUri: aws.String(imageURI)}
	if arch != "" {
		in.Architectures = []types.Architecture{types.Architecture(arch)}
	}
	err := c.call(ctx, name, retryThrottle|retryConflict, func() error {
		_, err := c.api.UpdateFunctionCode(ctx, in)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("updating the code of Lambda function %q to %s: %w", name, imageURI, err)
	}
	out, err := c.waitUpdated(ctx, name)
	if err != nil {
		return nil, err
	}
	return toFunction(out), nil
}

// UpdateConfig applies memory, timeout, environment, ephemeral storage, role,
// description and Settings, waits for the update, then brings the tags and
// the reserved concurrency in line with cfg. ImageURI and Architecture are ignored: see UpdateCode.
func (c *Client) UpdateConfig(ctx context.Context, cfg Config) (*Function, error) {
	in := &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(cfg.Name),
		Description:  aws.String(cfg.Description),
		MemorySize:   positive(cfg.MemoryMB),
		Timeout:      positive(cfg.TimeoutS),
		// An empty map clears variables that were removed from the config.
		Environment:   &types.Environment{Variables: nonNil(cfg.Environment)},
		VpcConfig:     cfg.vpcConfig(),
		TracingConfig: cfg.tracingConfig(),
		LoggingConfig: cfg.loggingConfig(),
		// "" goes back to Lambda's own key.
		KMSKeyArn: aws.String(cfg.KMSKeyARN),
	}
	if cfg.RoleARN != "" {
		in.Role = aws.String(cfg.RoleARN)
	}
	if cfg.EphemeralMB > 0 {
		in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(cfg.EphemeralMB)}
	}
	err := c.call(ctx, cfg.Name, retryThrottle|retryConflict|retryIAM, func() error {
		_, err := c.api.UpdateFunctionConfiguration(ctx, in)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("updating the configuration of Lambda function %q: %w", cfg.Name, err)
	}
	out, err := c.waitUpdated(ctx, cfg.Name)
	if err != nil {
		return nil, err
	}
	fn := toFunction(out)
	if err := c.syncTags(ctx, fn, cfg.Tags, cfg.KeepTag); err != nil {
		return nil, err
	}
	if err := c.syncConcurrency(ctx, fn, cfg.ReservedConcurrency); err != nil {
		return nil, err
	}
	return fn, nil
}

// Retag brings the function's tags in line with cfg.Tags (and cfg.KeepTag)
// and changes nothing else: tags alone never need a configuration update.
func (c *Client) Retag(ctx context.Context, cfg Config) (*Function, error) {
	fn, err := c.Get(ctx, cfg.Name)
	if err != nil {
		return nil, err
	}
	if err := c.syncTags(ctx, fn, cfg.Tags, cfg.KeepTag); err != nil {
		return nil, err
	}
	return fn, nil
}

// syncTags makes fn's tags equal to want and records the result in fn.
func (c *Client) syncTags(ctx context.Context, fn *Function, want map[string]string, keep func(string) bool) error {
	add, remove := diffTags(fn.Tags, want, keep)
	if len(add) > 0 {
		err := c.call(ctx, fn.Name, retryThrottle|retryConflict, func() error {
			_, err := c.api.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(fn.ARN), Tags: add})
			return err
		})
		if err != nil {
			return fmt.Errorf("tagging Lambda function %q: %w", fn.Name, err)
		}
	}
	if len(remove) > 0 {
		err := c.call(ctx, fn.Name, retryThrottle|retryConflict, func() error {
			_, err := c.api.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(fn.ARN), TagKeys: remove})
			return err
		})
		if err != nil {
			return fmt.Errorf("untagging Lambda function %q: %w", fn.Name, err)
		}
	}
	if fn.Tags == nil {
		fn.Tags = map[string]string{}
	}
	maps.Copy(fn.Tags, add)
	for _, k := range remove {
		delete(fn.Tags, k)
	}
	return nil
}

// Delete deletes a function; one that is already gone is not an error.
func (c *Client) Delete(ctx context.Context, name string) error {
	err := c.call(ctx, name, retryThrottle|retryConflict, func() error {
		_, err := c.api.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name)})
		return err
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("deleting Lambda function %q: %w", name, err)
	}
	return nil
}

// Invoke calls the function synchronously and returns its answer with the
// tail of its log. Throttling is retried with backoff; a function that is not
// ready yet (Pending, or Inactive and waking up) is waited for.
func (c *Client) Invoke(ctx context.Context, name string, payload []byte) (*InvokeResult, error) {
	var out *lambda.InvokeOutput
	err := c.call(ctx, name, retryThrottle|retryNotReady, func() (err error) {
		out, err = c.api.Invoke(ctx, &lambda.InvokeInput{
			FunctionName:   aws.String(name),
			InvocationType: types.InvocationTypeRequestResponse,
			LogType:        types.LogTypeTail,
			Payload:        payload,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("invoking Lambda function %q: %w", name, err)
	}
	res := &InvokeResult{Payload: out.Payload, FunctionError: aws.ToString(out.FunctionError), StatusCode: out.StatusCode}
	res.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	if out.LogResult != nil {
		tail, err := base64.StdEncoding.DecodeString(*out.LogResult)
		if err != nil {
			// Keep the raw text rather than lose the log.
			tail = []byte(*out.LogResult)
		}
		res.LogTail = string(tail)
	}
	return res, nil
}

func toFunction(out *lambda.GetFunctionOutput) *Function {
	f := &Function{Tags: out.Tags}
	readSettings(f, out)
	if code := out.Code; code != nil {
		f.ImageURI = aws.ToString(code.ImageUri)
		f.ResolvedImageURI = aws.ToString(code.ResolvedImageUri)
	}
	if cfg := out.Configuration; cfg != nil {
		f.Name = aws.ToString(cfg.FunctionName)
		f.ARN = aws.ToString(cfg.FunctionArn)
		f.CodeSha256 = aws.ToString(cfg.CodeSha256)
		f.RoleARN = aws.ToString(cfg.Role)
		f.Description = aws.ToString(cfg.Description)
		f.State = string(cfg.State)
		f.StateReason = aws.ToString(cfg.StateReason)
		f.LastUpdateStatus = string(cfg.LastUpdateStatus)
		f.LastUpdateStatusReason = aws.ToString(cfg.LastUpdateStatusReason)
		f.LastModified = aws.ToString(cfg.LastModified)
		f.MemoryMB = aws.ToInt32(cfg.MemorySize)
		f.TimeoutS = aws.ToInt32(cfg.Timeout)
		if len(cfg.Architectures) > 0 {
			f.Architecture = string(cfg.Architectures[0])
		}
		if cfg.EphemeralStorage != nil {
			f.EphemeralMB = aws.ToInt32(cfg.EphemeralStorage.Size)
		}
		if cfg.Environment != nil {
			f.Environment = cfg.Environment.Variables
		}
	}
	return f
}

// diffTags returns the tags to set and the keys to remove to turn have into
// want. AWS's own aws:* tags cannot be removed and are left alone, as are
// those keep says to keep.
func diffTags(have, want map[string]string, keep func(string) bool) (add map[string]string, remove []string) {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			if add == nil {
				add = map[string]string{}
			}
			add[k] = v
		}
	}
	for k := range have {
		if _, ok := want[k]; !ok && !isAWSTag(k) && (keep == nil || !keep(k)) {
			remove = append(remove, k)
		}
	}
	return add, remove
}

func isAWSTag(k string) bool { return len(k) >= 4 && k[:4] == "aws:" }

func positive(v int32) *int32 {
	if v <= 0 {
		return nil
	}
	return aws.Int32(v)
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
