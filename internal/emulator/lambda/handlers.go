package lambda

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

type codeInput struct {
	ImageUri        *string `json:"ImageUri"`
	ZipFile         []byte  `json:"ZipFile"`
	S3Bucket        *string `json:"S3Bucket"`
	S3Key           *string `json:"S3Key"`
	S3ObjectVersion *string `json:"S3ObjectVersion"`
}

type environmentInput struct {
	Variables map[string]string `json:"Variables"`
}

type storageInput struct {
	Size *int `json:"Size"`
}

type createInput struct {
	FunctionName     *string           `json:"FunctionName"`
	Role             *string           `json:"Role"`
	Code             *codeInput        `json:"Code"`
	PackageType      *string           `json:"PackageType"`
	Description      *string           `json:"Description"`
	MemorySize       *int              `json:"MemorySize"`
	Timeout          *int              `json:"Timeout"`
	Environment      *environmentInput `json:"Environment"`
	EphemeralStorage *storageInput     `json:"EphemeralStorage"`
	Architectures    []string          `json:"Architectures"`
	ImageConfig      *imageConfig      `json:"ImageConfig"`
	Tags             map[string]string `json:"Tags"`
	Handler          *string           `json:"Handler"`
	Runtime          *string           `json:"Runtime"`
	Layers           []string          `json:"Layers"`
	Publish          bool              `json:"Publish"`
	VpcConfig        *vpcConfig        `json:"VpcConfig"`
	TracingConfig    *tracingConfig    `json:"TracingConfig"`
	LoggingConfig    *loggingConfig    `json:"LoggingConfig"`
	KMSKeyArn        *string           `json:"KMSKeyArn"`
}

func (s *Service) createFunction(_ *awsproto.Call, in *createInput) (any, error) {
	var v awsproto.Validation
	var ref functionRef
	if in.FunctionName == nil {
		v.Add(nil, "functionName", "Member must not be null")
	} else {
		ref = parseFunctionName(&v, "functionName", *in.FunctionName)
	}
	if in.Role == nil {
		v.Add(nil, "role", "Member must not be null")
	}
	checkRole(&v, in.Role)
	if in.Code == nil {
		v.Add(nil, "code", "Member must not be null")
	}
	var storage *int
	if in.EphemeralStorage != nil {
		if in.EphemeralStorage.Size == nil {
			v.Add(nil, "ephemeralStorage.size", "Member must not be null")
		}
		storage = in.EphemeralStorage.Size
	}
	checkLimits(&v, in.MemorySize, in.Timeout, storage, in.Description)
	checkArchitectures(&v, in.Architectures)
	v.Enum(in.PackageType, "packageType", "Zip", "Image")
	var env map[string]string
	if in.Environment != nil {
		env = in.Environment.Variables
	}
	envErr := envErrors(&v, env)
	setErr := checkSettings(&v, in.VpcConfig, in.TracingConfig, in.LoggingConfig, in.KMSKeyArn)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if envErr != nil {
		return nil, envErr
	}
	if setErr != nil {
		return nil, setErr
	}
	if in.PackageType == nil || *in.PackageType != "Image" {
		return nil, invalidParam("The emulator runs container images only: Zip deployment packages are not emulated. Set PackageType to Image and Code.ImageUri to an image in the emulated ECR.")
	}
	if in.Code.ZipFile != nil || in.Code.S3Bucket != nil || in.Code.S3Key != nil {
		return nil, invalidParam("Please don't provide a ZipFile or S3 location when PackageType is Image. Provide Code.ImageUri.")
	}
	if in.Code.ImageUri == nil || *in.Code.ImageUri == "" {
		return nil, invalidParam("Please provide ImageUri when PackageType is Image.")
	}
	if in.Handler != nil || in.Runtime != nil || len(in.Layers) > 0 {
		return nil, invalidParam("Please don't provide Handler, Runtime or Layers when the intended function PackageType is Image.")
	}
	if in.Publish {
		return nil, invalidParam("Publishing versions is not emulated: only $LATEST exists. Leave Publish false.")
	}
	if e := s.checkRef(ref, false); e != nil {
		return nil, e
	}
	if e := s.tagErrors(in.Tags); e != nil {
		return nil, e
	}

	s.mu.Lock()
	_, exists := s.functions[ref.name]
	s.mu.Unlock()
	if exists {
		return nil, conflict("Function already exist: " + ref.name)
	}
	if e := s.checkRoleTrust(*in.Role); e != nil {
		return nil, e
	}
	resolved, sha, e := s.resolveImage(*in.Code.ImageUri)
	if e != nil {
		return nil, e
	}

	f := &function{
		Name:             ref.name,
		Role:             *in.Role,
		MemorySize:       128,
		Timeout:          3,
		EphemeralStorage: 512,
		Environment:      env,
		Architectures:    []string{"x86_64"},
		ImageURI:         *in.Code.ImageUri,
		ResolvedImageURI: resolved,
		CodeSha256:       sha,
		ImageConfig:      in.ImageConfig,
		Tags:             in.Tags,
		LastModified:     time.Now(),
		RevisionID:       newRevisionID(),
	}
	if in.Description != nil {
		f.Description = *in.Description
	}
	if in.MemorySize != nil {
		f.MemorySize = *in.MemorySize
	}
	if in.Timeout != nil {
		f.Timeout = *in.Timeout
	}
	if storage != nil {
		f.EphemeralStorage = *storage
	}
	if in.Architectures != nil {
		f.Architectures = in.Architectures
	}
	applySettings(f, in.VpcConfig, in.TracingConfig, in.LoggingConfig, in.KMSKeyArn)

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.functions[f.Name]; exists {
		return nil, conflict("Function already exist: " + f.Name)
	}
	s.functions[f.Name] = f
	s.beginTransition(f, true)
	if err := s.saveLocked(); err != nil {
		s.opts.Logf("lambda: saving state: %v", err)
	}
	return s.configuration(f), nil
}

// checkRef rejects a reference to another region or account, and any
// qualifier but $LATEST (versions and aliases are not emulated).
func (s *Service) checkRef(ref functionRef, allowQualifier bool) *awsproto.Error {
	if (ref.region != "" && ref.region != s.region) || (ref.account != "" && ref.account != awsproto.AccountID) {
		arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", orDefault(ref.region, s.region), orDefault(ref.account, awsproto.AccountID), ref.name)
		return notFound(arn)
	}
	if ref.qualifier != "" && (!allowQualifier || ref.qualifier != latest) {
		if !allowQualifier {
			return invalidParam("Unsupported qualifier: only $LATEST is emulated; versions and aliases are not.")
		}
		return notFound(s.arn(ref.name) + ":" + ref.qualifier)
	}
	return nil
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func (s *Service) checkRoleTrust(role string) *awsproto.Error {
	if s.opts.Roles == nil {
		return nil
	}
	if err := s.opts.Roles.CheckLambdaRole(role); err != nil {
		return invalidParam("%s", err.Error())
	}
	return nil
}

// resolveImage turns an image URI into repo@digest and the digest's hex, as
// Lambda records ResolvedImageUri and CodeSha256.
func (s *Service) resolveImage(uri string) (resolved, sha string, e *awsproto.Error) {
	if s.opts.Images == nil {
		return "", "", serviceError("no image registry is configured in the emulator")
	}
	repo, digest, err := s.opts.Images.ResolveImage(uri)
	if err != nil {
		// The resolver words its errors as Lambda does.
		return "", "", invalidParam("%s", err.Error())
	}
	// ResolvedImageUri names the registry, as the image URI does; a
	// resolver may answer with the bare repository name.
	if host, _, ok := strings.Cut(uri, "/"); ok && !strings.HasPrefix(repo, host+"/") {
		repo = host + "/" + repo
	}
	hexDigest, ok := strings.CutPrefix(digest, "sha256:")
	if !ok {
		return "", "", serviceError("registry returned digest %q for %s, expected sha256:...", digest, uri)
	}
	return repo + "@" + digest, hexDigest, nil
}

// functionInput names a function in the path, and maybe a qualifier.
type functionInput struct {
	FunctionName string `http:"label=FunctionName"`
	Qualifier    string `http:"query=Qualifier"`
}

// lookup finds the function a path names. Read the result's fields under s.mu.
func (s *Service) lookup(name, q string) (*function, *awsproto.Error) {
	var v awsproto.Validation
	ref := parseFunctionName(&v, "functionName", name)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if q != "" {
		if ref.qualifier != "" && ref.qualifier != q {
			return nil, invalidParam("The derived qualifier from the function name does not match the specified qualifier.")
		}
		ref.qualifier = q
	}
	if e := s.checkRef(ref, true); e != nil {
		return nil, e
	}
	s.mu.Lock()
	f, ok := s.functions[ref.name]
	s.mu.Unlock()
	if !ok {
		return nil, notFound(s.arn(ref.name))
	}
	return f, nil
}

type functionCode struct {
	RepositoryType   string `json:"RepositoryType"`
	ImageUri         string `json:"ImageUri"`
	ResolvedImageUri string `json:"ResolvedImageUri"`
}

func (s *Service) getFunction(_ *awsproto.Call, in *functionInput) (any, error) {
	f, e := s.lookup(in.FunctionName, in.Qualifier)
	if e != nil {
		return nil, e
	}
	s.checkImageExists(f)
	s.mu.Lock()
	out := struct {
		Configuration functionConfiguration `json:"Configuration"`
		Code          functionCode          `json:"Code"`
		Tags          map[string]string     `json:"Tags,omitempty"`
		Concurrency   map[string]int        `json:"Concurrency,omitempty"`
	}{
		Configuration: s.configuration(f),
		Code:          functionCode{"ECR", f.ImageURI, f.ResolvedImageURI},
		Tags:          copyMap(f.Tags),
	}
	if f.Reserved != nil {
		out.Concurrency = map[string]int{"ReservedConcurrentExecutions": *f.Reserved}
	}
	s.mu.Unlock()
	return out, nil
}

func (s *Service) getFunctionConfiguration(_ *awsproto.Call, in *functionInput) (any, error) {
	f, e := s.lookup(in.FunctionName, in.Qualifier)
	if e != nil {
		return nil, e
	}
	s.checkImageExists(f)
	s.mu.Lock()
	c := s.configuration(f)
	s.mu.Unlock()
	return c, nil
}

type listFunctionsInput struct {
	MaxItems string `http:"query=MaxItems"`
	Marker   string `http:"query=Marker"`
}

func (s *Service) listFunctions(_ *awsproto.Call, in *listFunctionsInput) (any, error) {
	maxItems := 50
	if m := in.MaxItems; m != "" {
		n, err := strconv.Atoi(m)
		var v awsproto.Validation
		if err != nil {
			v.Add(m, "maxItems", "Member must be an integer")
		} else {
			v.Between(&n, "maxItems", 1, 10000)
		}
		if e := v.Err(); e != nil {
			return nil, e
		}
		maxItems = n
	}
	after := ""
	if m := in.Marker; m != "" {
		b, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil {
			return nil, invalidParam("Invalid Marker: %s", m)
		}
		after = string(b)
	}
	s.mu.Lock()
	all := make([]*function, 0, len(s.functions))
	for _, f := range s.functions {
		all = append(all, f)
	}
	s.mu.Unlock()
	for _, f := range all {
		s.checkImageExists(f)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.functions))
	for n := range s.functions {
		if n > after {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := struct {
		Functions  []functionConfiguration `json:"Functions"`
		NextMarker string                  `json:"NextMarker,omitempty"`
	}{Functions: []functionConfiguration{}}
	for i, n := range names {
		if i == maxItems {
			out.NextMarker = base64.RawURLEncoding.EncodeToString([]byte(names[i-1]))
			break
		}
		out.Functions = append(out.Functions, s.configuration(s.functions[n]))
	}
	return out, nil
}

func (s *Service) deleteFunction(_ *awsproto.Call, in *functionInput) (any, error) {
	f, e := s.lookup(in.FunctionName, in.Qualifier)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	if s.functions[f.Name] == f {
		stopTimer(f)
		delete(s.functions, f.Name)
		if err := s.saveLocked(); err != nil {
			s.opts.Logf("lambda: saving state: %v", err)
		}
	}
	s.mu.Unlock()
	s.run.Discard(f.Name)
	return nil, nil
}

// checkImageExists moves an Active function whose image has gone from the
// registry to Failed: Lambda re-fetches images periodically and fails the
// function when one is deleted; here the check happens when it is looked at.
func (s *Service) checkImageExists(f *function) {
	s.mu.Lock()
	state, updating, resolved := f.State, f.LastUpdateStatus == updateInProgress, f.ResolvedImageURI
	s.mu.Unlock()
	if state != stateActive || updating || s.opts.Images == nil {
		return
	}
	if _, _, err := s.opts.Images.ResolveImage(resolved); err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.State != stateActive || f.ResolvedImageURI != resolved || s.functions[f.Name] != f {
		return
	}
	f.State, f.StateReasonCode = stateFailed, imageDeletedCode
	f.StateReason = "The function's image " + resolved + " no longer exists in the registry. Update the function code with an image that exists."
	if err := s.saveLocked(); err != nil {
		s.opts.Logf("lambda: saving state: %v", err)
	}
	go s.run.Discard(f.Name)
}

const imageDeletedCode = "ImageDeleted"

// checkUpdatable rejects an update while the function is being created or
// updated, with Lambda's messages. Holds s.mu.
func (s *Service) checkUpdatable(f *function, revision *string) *awsproto.Error {
	return s.checkUpdatableFor(f, revision, false)
}

// checkUpdatableFor is checkUpdatable; newCode says the update brings a new
// image, which is how a function whose image was deleted recovers.
func (s *Service) checkUpdatableFor(f *function, revision *string, newCode bool) *awsproto.Error {
	recovering := newCode && f.State == stateFailed && f.StateReasonCode == imageDeletedCode
	if f.State != stateActive && !recovering {
		return conflict("The operation cannot be performed at this time. The function is currently in the following state: " + f.State)
	}
	if f.LastUpdateStatus == updateInProgress {
		return conflict("The operation cannot be performed at this time. An update is in progress for resource: " + s.arn(f.Name))
	}
	if revision != nil && *revision != f.RevisionID {
		return &awsproto.Error{Status: http.StatusPreconditionFailed, Code: "PreconditionFailedException", Message: "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"}
	}
	return nil
}

type updateCodeInput struct {
	FunctionName string `http:"label=FunctionName"`
	codeInput
	Architectures []string `json:"Architectures"`
	DryRun        bool     `json:"DryRun"`
	Publish       bool     `json:"Publish"`
	RevisionId    *string  `json:"RevisionId"`
}

func (s *Service) updateFunctionCode(_ *awsproto.Call, in *updateCodeInput) (any, error) {
	f, e := s.lookup(in.FunctionName, "")
	if e != nil {
		return nil, e
	}
	var v awsproto.Validation
	checkArchitectures(&v, in.Architectures)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if in.ZipFile != nil || in.S3Bucket != nil || in.S3Key != nil {
		return nil, invalidParam("Please don't provide a ZipFile or S3 location when updating a function with packageType Image. Provide ImageUri.")
	}
	if in.ImageUri == nil || *in.ImageUri == "" {
		return nil, invalidParam("Please provide ImageUri when updating a function with packageType Image.")
	}
	if in.Publish {
		return nil, invalidParam("Publishing versions is not emulated: only $LATEST exists. Leave Publish false.")
	}
	s.mu.Lock()
	e = s.checkUpdatableFor(f, in.RevisionId, true)
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	resolved, sha, e := s.resolveImage(*in.ImageUri)
	if e != nil {
		return nil, e
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.functions[f.Name] != f {
		return nil, notFound(s.arn(f.Name))
	}
	if e := s.checkUpdatableFor(f, in.RevisionId, true); e != nil {
		return nil, e
	}
	if in.DryRun {
		c := s.configuration(f)
		c.ImageConfigResponse = nil
		return c, nil
	}
	f.ImageURI, f.ResolvedImageURI, f.CodeSha256 = *in.ImageUri, resolved, sha
	if in.Architectures != nil {
		f.Architectures = in.Architectures
	}
	s.updated(f)
	return s.configuration(f), nil
}

// updated records a change and starts its InProgress period. Holds s.mu.
func (s *Service) updated(f *function) {
	f.LastModified = time.Now()
	f.RevisionID = newRevisionID()
	s.beginTransition(f, false)
	if err := s.saveLocked(); err != nil {
		s.opts.Logf("lambda: saving state: %v", err)
	}
}

type updateConfigInput struct {
	FunctionName     string            `http:"label=FunctionName"`
	Role             *string           `json:"Role"`
	Description      *string           `json:"Description"`
	MemorySize       *int              `json:"MemorySize"`
	Timeout          *int              `json:"Timeout"`
	Environment      *environmentInput `json:"Environment"`
	EphemeralStorage *storageInput     `json:"EphemeralStorage"`
	ImageConfig      *imageConfig      `json:"ImageConfig"`
	Handler          *string           `json:"Handler"`
	Runtime          *string           `json:"Runtime"`
	Layers           []string          `json:"Layers"`
	RevisionId       *string           `json:"RevisionId"`
	VpcConfig        *vpcConfig        `json:"VpcConfig"`
	TracingConfig    *tracingConfig    `json:"TracingConfig"`
	LoggingConfig    *loggingConfig    `json:"LoggingConfig"`
	KMSKeyArn        *string           `json:"KMSKeyArn"`
}

func (s *Service) updateFunctionConfiguration(_ *awsproto.Call, in *updateConfigInput) (any, error) {
	f, e := s.lookup(in.FunctionName, "")
	if e != nil {
		return nil, e
	}
	var v awsproto.Validation
	checkRole(&v, in.Role)
	var storage *int
	if in.EphemeralStorage != nil {
		if in.EphemeralStorage.Size == nil {
			v.Add(nil, "ephemeralStorage.size", "Member must not be null")
		}
		storage = in.EphemeralStorage.Size
	}
	checkLimits(&v, in.MemorySize, in.Timeout, storage, in.Description)
	var envErr *awsproto.Error
	if in.Environment != nil {
		envErr = envErrors(&v, in.Environment.Variables)
	}
	setErr := checkSettings(&v, in.VpcConfig, in.TracingConfig, in.LoggingConfig, in.KMSKeyArn)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if envErr != nil {
		return nil, envErr
	}
	if setErr != nil {
		return nil, setErr
	}
	if in.Handler != nil || in.Runtime != nil || len(in.Layers) > 0 {
		return nil, invalidParam("Please don't provide Handler, Runtime or Layers when the intended function PackageType is Image.")
	}
	s.mu.Lock()
	e = s.checkUpdatable(f, in.RevisionId)
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	if in.Role != nil {
		if e := s.checkRoleTrust(*in.Role); e != nil {
			return nil, e
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.functions[f.Name] != f {
		return nil, notFound(s.arn(f.Name))
	}
	if e := s.checkUpdatable(f, in.RevisionId); e != nil {
		return nil, e
	}
	if in.Role != nil {
		f.Role = *in.Role
	}
	if in.Description != nil {
		f.Description = *in.Description
	}
	if in.MemorySize != nil {
		f.MemorySize = *in.MemorySize
	}
	if in.Timeout != nil {
		f.Timeout = *in.Timeout
	}
	if storage != nil {
		f.EphemeralStorage = *storage
	}
	if in.Environment != nil {
		f.Environment = in.Environment.Variables
	}
	if in.ImageConfig != nil {
		f.ImageConfig = in.ImageConfig
		if f.ImageConfig.EntryPoint == nil && f.ImageConfig.Command == nil && f.ImageConfig.WorkingDirectory == "" {
			f.ImageConfig = nil
		}
	}
	applySettings(f, in.VpcConfig, in.TracingConfig, in.LoggingConfig, in.KMSKeyArn)
	s.updated(f)
	return s.configuration(f), nil
}

// functionByARN finds the function a tagging call names; tags apply to
// function ARNs only.
func (s *Service) functionByARN(resource string) (*function, *awsproto.Error) {
	var v awsproto.Validation
	ref := parseFunctionName(&v, "resource", resource)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if !strings.HasPrefix(resource, "arn:") {
		return nil, invalidParam("Invalid ARN: %s", resource)
	}
	if e := s.checkRef(ref, true); e != nil {
		return nil, e
	}
	s.mu.Lock()
	f, ok := s.functions[ref.name]
	s.mu.Unlock()
	if !ok {
		return nil, notFound(s.arn(ref.name))
	}
	return f, nil
}

// tagErrors checks tags against Lambda's limits.
func (s *Service) tagErrors(tags map[string]string) *awsproto.Error {
	if len(tags) > 50 {
		return invalidParam("Number of tags exceeds resource tag limit.")
	}
	for k, val := range tags {
		if len(k) < 1 || len(k) > 128 || len(val) > 256 {
			return invalidParam("Tag keys must be 1-128 characters and values at most 256 characters: %q", k)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return invalidParam("Tag keys with the aws: prefix are reserved for AWS use: %q", k)
		}
	}
	return nil
}

type tagResourceInput struct {
	Resource string            `http:"label=Resource"`
	Tags     map[string]string `json:"Tags"`
}

func (s *Service) tagResource(_ *awsproto.Call, in *tagResourceInput) (any, error) {
	if in.Tags == nil {
		var v awsproto.Validation
		v.Add(nil, "tags", "Member must not be null")
		return nil, v.Err()
	}
	f, e := s.functionByARN(in.Resource)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	merged := copyMap(f.Tags)
	if merged == nil {
		merged = map[string]string{}
	}
	for k, v := range in.Tags {
		merged[k] = v
	}
	if e := s.tagErrors(merged); e != nil {
		return nil, e
	}
	f.Tags = merged
	if err := s.saveLocked(); err != nil {
		s.opts.Logf("lambda: saving state: %v", err)
	}
	return nil, nil
}

type untagResourceInput struct {
	Resource string   `http:"label=Resource"`
	TagKeys  []string `http:"query=tagKeys"`
}

func (s *Service) untagResource(_ *awsproto.Call, in *untagResourceInput) (any, error) {
	keys := in.TagKeys
	if len(keys) == 0 {
		var v awsproto.Validation
		v.Add(nil, "tagKeys", "Member must not be null")
		return nil, v.Err()
	}
	f, e := s.functionByARN(in.Resource)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tags := copyMap(f.Tags)
	for _, k := range keys {
		delete(tags, k)
	}
	f.Tags = tags
	if err := s.saveLocked(); err != nil {
		s.opts.Logf("lambda: saving state: %v", err)
	}
	return nil, nil
}

type resourceInput struct {
	Resource string `http:"label=Resource"`
}

func (s *Service) listTags(_ *awsproto.Call, in *resourceInput) (any, error) {
	f, e := s.functionByARN(in.Resource)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	tags := copyMap(f.Tags)
	s.mu.Unlock()
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{"Tags": tags}, nil
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
