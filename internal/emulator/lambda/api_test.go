package lambda

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// apiErr asserts err is an API error with the code, HTTP status and a
// message containing msg.
func apiErr(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Errorf("got %s %q, want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Errorf("%s: HTTP %d, want %d", code, re.HTTPStatusCode(), status)
	}
}

func TestCreateGoesPendingThenActive(t *testing.T) {
	e := newEnv(t, nil)
	e.delay.Store(int64(time.Second))
	out, err := e.c.CreateFunction(ctx(t), &awslambda.CreateFunctionInput{
		FunctionName: aws.String("train"),
		Role:         aws.String(goodRole),
		PackageType:  types.PackageTypeImage,
		Code:         &types.FunctionCode{ImageUri: aws.String(e.img.v1)},
		Description:  aws.String("trains"),
		Tags:         map[string]string{"team": "ml"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.State != types.StatePending || out.StateReasonCode != types.StateReasonCodeCreating || aws.ToString(out.StateReason) != "The function is being created." {
		t.Errorf("after create: %s %s %q", out.State, out.StateReasonCode, aws.ToString(out.StateReason))
	}
	arn := "arn:aws:lambda:us-east-1:000000000000:function:train"
	if aws.ToString(out.FunctionArn) != arn || aws.ToString(out.Version) != "$LATEST" || out.PackageType != types.PackageTypeImage {
		t.Errorf("arn %q version %q package %q", aws.ToString(out.FunctionArn), aws.ToString(out.Version), out.PackageType)
	}
	if aws.ToInt32(out.MemorySize) != 128 || aws.ToInt32(out.Timeout) != 3 || aws.ToInt32(out.EphemeralStorage.Size) != 512 || len(out.Architectures) != 1 || out.Architectures[0] != types.ArchitectureX8664 {
		t.Errorf("defaults: memory %d timeout %d storage %d arch %v", aws.ToInt32(out.MemorySize), aws.ToInt32(out.Timeout), aws.ToInt32(out.EphemeralStorage.Size), out.Architectures)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$`).MatchString(aws.ToString(out.LastModified)) {
		t.Errorf("LastModified %q is not in Lambda's format", aws.ToString(out.LastModified))
	}
	if aws.ToString(out.CodeSha256) != strings.TrimPrefix(e.img.digest1, "sha256:") {
		t.Errorf("CodeSha256 %q, want the digest %s", aws.ToString(out.CodeSha256), e.img.digest1)
	}

	// Pending: no invoking, no updating.
	_, err = e.c.Invoke(ctx(t), &awslambda.InvokeInput{FunctionName: aws.String("train")})
	apiErr(t, err, "ResourceConflictException", 409, "The function is currently in the following state: Pending")
	_, err = e.c.UpdateFunctionConfiguration(ctx(t), &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("train"), MemorySize: aws.Int32(256)})
	apiErr(t, err, "ResourceConflictException", 409, "The operation cannot be performed at this time. The function is currently in the following state: Pending")

	// The SDK's own waiter, with its default delays.
	start := time.Now()
	if err := awslambda.NewFunctionActiveV2Waiter(e.c).Wait(ctx(t), &awslambda.GetFunctionInput{FunctionName: aws.String("train")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 500*time.Millisecond {
		t.Errorf("Active after %v; the transition delay is 1s", time.Since(start))
	}
	got, err := e.c.GetFunction(ctx(t), &awslambda.GetFunctionInput{FunctionName: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	c := got.Configuration
	if c.State != types.StateActive || c.LastUpdateStatus != types.LastUpdateStatusSuccessful || c.StateReason != nil {
		t.Errorf("after wait: %s %s %v", c.State, c.LastUpdateStatus, c.StateReason)
	}
	if aws.ToString(got.Code.RepositoryType) != "ECR" || aws.ToString(got.Code.ImageUri) != e.img.v1 ||
		aws.ToString(got.Code.ResolvedImageUri) != e.img.host+"/fn@"+e.img.digest1 {
		t.Errorf("code %+v", *got.Code)
	}
	if got.Tags["team"] != "ml" || aws.ToString(c.Description) != "trains" {
		t.Errorf("tags %v description %q", got.Tags, aws.ToString(c.Description))
	}
	// The other spellings of a function name find it too.
	for _, n := range []string{"000000000000:function:train", arn + ":$LATEST", "train:$LATEST"} {
		if _, err := e.c.GetFunctionConfiguration(ctx(t), &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String(n)}); err != nil {
			t.Errorf("GetFunctionConfiguration(%s): %v", n, err)
		}
	}
	if n := e.svc.Invocations()["train"]; n != 0 {
		t.Errorf("%d invocations; none were made", n)
	}
}

func TestUpdateWhileInProgressConflicts(t *testing.T) {
	e := newEnv(t, nil)
	e.create("model", nil)
	before, _ := e.c.GetFunctionConfiguration(ctx(t), &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String("model")})

	e.delay.Store(int64(5 * time.Second))
	up, err := e.c.UpdateFunctionConfiguration(ctx(t), &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("model"),
		MemorySize:   aws.Int32(1024),
		Timeout:      aws.Int32(30),
		Environment:  &types.Environment{Variables: map[string]string{"FOO": "2"}},
		Description:  aws.String("bigger"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.LastUpdateStatus != types.LastUpdateStatusInProgress || up.State != types.StateActive || aws.ToInt32(up.MemorySize) != 1024 {
		t.Errorf("update answer: %s %s %d", up.State, up.LastUpdateStatus, aws.ToInt32(up.MemorySize))
	}
	if aws.ToString(up.RevisionId) == aws.ToString(before.RevisionId) {
		t.Errorf("RevisionId unchanged by an update")
	}
	arn := aws.ToString(up.FunctionArn)
	_, err = e.c.UpdateFunctionConfiguration(ctx(t), &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("model"), MemorySize: aws.Int32(2048)})
	apiErr(t, err, "ResourceConflictException", 409, "The operation cannot be performed at this time. An update is in progress for resource: "+arn)
	var rce *types.ResourceConflictException
	if !errors.As(err, &rce) {
		t.Errorf("the SDK did not type the conflict: %T", err)
	}
	_, err = e.c.UpdateFunctionCode(ctx(t), &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("model"), ImageUri: aws.String(e.img.v2)})
	apiErr(t, err, "ResourceConflictException", 409, "An update is in progress")
	// Meanwhile invocations run the previous configuration, as on Lambda.
	r := decodeResult(t, e.invoke("model", map[string]any{"msg": "during"}, nil))
	if r.Env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] != "256" || r.Env["FOO"] != "" {
		t.Errorf("during the update the function ran with %v", r.Env)
	}

	e.delay.Store(int64(100 * time.Millisecond))
	if err := awslambda.NewFunctionUpdatedV2Waiter(e.c).Wait(ctx(t), &awslambda.GetFunctionInput{FunctionName: aws.String("model")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	code, err := e.c.UpdateFunctionCode(ctx(t), &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("model"), ImageUri: aws.String(e.img.v2)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(code.CodeSha256) != strings.TrimPrefix(e.img.digest2, "sha256:") || code.LastUpdateStatus != types.LastUpdateStatusInProgress {
		t.Errorf("after code update: %s %s", aws.ToString(code.CodeSha256), code.LastUpdateStatus)
	}
	e.waitUpdated("model")
	got, _ := e.c.GetFunction(ctx(t), &awslambda.GetFunctionInput{FunctionName: aws.String("model")})
	if aws.ToInt32(got.Configuration.MemorySize) != 1024 || got.Configuration.Environment.Variables["FOO"] != "2" ||
		aws.ToString(got.Code.ResolvedImageUri) != e.img.host+"/fn@"+e.img.digest2 {
		t.Errorf("after updates: memory %d env %v image %s", aws.ToInt32(got.Configuration.MemorySize), got.Configuration.Environment.Variables, aws.ToString(got.Code.ResolvedImageUri))
	}
	// A stale RevisionId is refused.
	_, err = e.c.UpdateFunctionConfiguration(ctx(t), &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("model"), Timeout: aws.Int32(5), RevisionId: before.RevisionId})
	apiErr(t, err, "PreconditionFailedException", 412, "Revision Id")
}

func TestValidation(t *testing.T) {
	e := newEnv(t, nil)
	e.create("exists", nil)
	base := func(mut func(*awslambda.CreateFunctionInput)) *awslambda.CreateFunctionInput {
		in := &awslambda.CreateFunctionInput{
			FunctionName: aws.String("fresh"),
			Role:         aws.String(goodRole),
			PackageType:  types.PackageTypeImage,
			Code:         &types.FunctionCode{ImageUri: aws.String(e.img.v1)},
		}
		mut(in)
		return in
	}
	bigEnv := map[string]string{"BIG": strings.Repeat("x", 4100)}
	cases := []struct {
		name        string
		in          *awslambda.CreateFunctionInput
		code        string
		status      int
		msgContains string
	}{
		{"memory too small", base(func(in *awslambda.CreateFunctionInput) { in.MemorySize = aws.Int32(127) }), "ValidationException", 400, "Value '127' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128"},
		{"memory too large", base(func(in *awslambda.CreateFunctionInput) { in.MemorySize = aws.Int32(10241) }), "ValidationException", 400, "Member must have value less than or equal to 10240"},
		{"timeout zero", base(func(in *awslambda.CreateFunctionInput) { in.Timeout = aws.Int32(0) }), "ValidationException", 400, "at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"timeout too long", base(func(in *awslambda.CreateFunctionInput) { in.Timeout = aws.Int32(901) }), "ValidationException", 400, "Member must have value less than or equal to 900"},
		{"storage too small", base(func(in *awslambda.CreateFunctionInput) {
			in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(511)}
		}), "ValidationException", 400, "at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value greater than or equal to 512"},
		{"storage too large", base(func(in *awslambda.CreateFunctionInput) {
			in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(10241)}
		}), "ValidationException", 400, "Member must have value less than or equal to 10240"},
		{"two errors at once", base(func(in *awslambda.CreateFunctionInput) { in.MemorySize, in.Timeout = aws.Int32(1), aws.Int32(0) }), "ValidationException", 400, "2 validation errors detected"},
		{"name with a space", base(func(in *awslambda.CreateFunctionInput) { in.FunctionName = aws.String("bad name") }), "ValidationException", 400, "at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"name too long", base(func(in *awslambda.CreateFunctionInput) { in.FunctionName = aws.String(strings.Repeat("a", 65)) }), "ValidationException", 400, "Member must have length less than or equal to 64"},
		{"description too long", base(func(in *awslambda.CreateFunctionInput) { in.Description = aws.String(strings.Repeat("d", 257)) }), "ValidationException", 400, "at 'description'"},
		{"role not an ARN", base(func(in *awslambda.CreateFunctionInput) { in.Role = aws.String("lambda-exec") }), "ValidationException", 400, "at 'role' failed to satisfy constraint"},
		{"role Lambda cannot assume", base(func(in *awslambda.CreateFunctionInput) { in.Role = aws.String(untrusting) }), "InvalidParameterValueException", 400, "The role defined for the function cannot be assumed by Lambda."},
		{"image not in the registry", base(func(in *awslambda.CreateFunctionInput) { in.Code.ImageUri = aws.String(e.img.host + "/fn:nope") }), "InvalidParameterValueException", 400, "Source image " + e.img.host + "/fn:nope does not exist"},
		{"zip package", base(func(in *awslambda.CreateFunctionInput) {
			in.PackageType = types.PackageTypeZip
			in.Code = &types.FunctionCode{ZipFile: []byte("PK")}
		}), "InvalidParameterValueException", 400, "only"},
		{"no package type means zip", base(func(in *awslambda.CreateFunctionInput) { in.PackageType = "" }), "InvalidParameterValueException", 400, "Zip deployment packages are not emulated"},
		{"reserved variable", base(func(in *awslambda.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"AWS_REGION": "eu-west-1"}}
		}), "InvalidParameterValueException", 400, "Reserved keys used in this request: AWS_REGION"},
		{"variables over 4 KB", base(func(in *awslambda.CreateFunctionInput) { in.Environment = &types.Environment{Variables: bigEnv} }), "InvalidParameterValueException", 400, "exceeded the 4KB limit"},
		{"bad architecture", base(func(in *awslambda.CreateFunctionInput) { in.Architectures = []types.Architecture{"sparc"} }), "ValidationException", 400, "enum value set: [x86_64, arm64]"},
		{"already exists", base(func(in *awslambda.CreateFunctionInput) { in.FunctionName = aws.String("exists") }), "ResourceConflictException", 409, "Function already exist: exists"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.c.CreateFunction(ctx(t), tc.in)
			apiErr(t, err, tc.code, tc.status, tc.msgContains)
		})
	}

	// Updates are validated the same way.
	_, err := e.c.UpdateFunctionConfiguration(ctx(t), &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("exists"), MemorySize: aws.Int32(20000)})
	apiErr(t, err, "ValidationException", 400, "Value '20000' at 'memorySize'")
	_, err = e.c.UpdateFunctionConfiguration(ctx(t), &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("exists"), Role: aws.String(untrusting)})
	apiErr(t, err, "InvalidParameterValueException", 400, "cannot be assumed by Lambda")
	_, err = e.c.UpdateFunctionCode(ctx(t), &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("exists"), ImageUri: aws.String(e.img.host + "/missing:v1")})
	apiErr(t, err, "InvalidParameterValueException", 400, "does not exist")
	_, err = e.c.UpdateFunctionCode(ctx(t), &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("exists"), ZipFile: []byte("PK")})
	apiErr(t, err, "InvalidParameterValueException", 400, "ZipFile")

	// Unknown functions, qualifiers and invocation types.
	_, err = e.c.GetFunction(ctx(t), &awslambda.GetFunctionInput{FunctionName: aws.String("ghost")})
	apiErr(t, err, "ResourceNotFoundException", 404, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:ghost")
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("the SDK did not type the not-found error: %T", err)
	}
	_, err = e.c.GetFunction(ctx(t), &awslambda.GetFunctionInput{FunctionName: aws.String("exists"), Qualifier: aws.String("7")})
	apiErr(t, err, "ResourceNotFoundException", 404, "function:exists:7")
	_, err = e.c.DeleteFunction(ctx(t), &awslambda.DeleteFunctionInput{FunctionName: aws.String("ghost")})
	apiErr(t, err, "ResourceNotFoundException", 404, "ghost")
	_, err = e.c.Invoke(ctx(t), &awslambda.InvokeInput{FunctionName: aws.String("exists"), Payload: []byte("{not json")})
	apiErr(t, err, "InvalidRequestContentException", 400, "Could not parse request body into json")
	_, err = e.c.Invoke(ctx(t), &awslambda.InvokeInput{FunctionName: aws.String("exists"), Payload: make([]byte, maxSyncPayload+1)})
	apiErr(t, err, "RequestTooLargeException", http.StatusRequestEntityTooLarge, "6291456")

	if got := e.svc.Invocations(); len(got) != 0 {
		t.Errorf("invalid requests invoked functions: %v", got)
	}
	if list := containers(t, e.svc.Instance()); len(list) != 0 {
		t.Errorf("invalid requests started %d containers", len(list))
	}
}

// apiErrExact asserts err is an API error with exactly this code, HTTP
// status and message.
func apiErrExact(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code || ae.ErrorMessage() != msg {
		t.Errorf("got %s %q\nwant %s %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Errorf("%s: want HTTP %d, got %v", code, status, err)
	}
}

// TestEnvironmentRules holds CreateFunction and UpdateFunctionConfiguration
// to Lambda's rules for environment variables, with Lambda's codes, statuses
// and messages: the key pattern (a ValidationException that does not quote
// the sensitive value), the reserved keys (listed in the order of Lambda's
// documentation, which is the order its error names them in) and the 4 KB
// limit on the variables as compact JSON, which the error quotes.
func TestEnvironmentRules(t *testing.T) {
	e := newEnv(t, nil)
	e.delay.Store(0)
	e.create("env", nil)

	const (
		reservedMsg = "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: "
		sizeMsg     = "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: "
		patternMsg  = "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]"
	)
	// measured is the JSON of {key: value} that is exactly n bytes long.
	measured := func(key string, n int) (map[string]string, string) {
		value := strings.Repeat("x", n-len(`{"`+key+`":""}`))
		return map[string]string{key: value}, `{"` + key + `":"` + value + `"}`
	}
	over, overJSON := measured("BIG", 4097)
	atLimit, _ := measured("BIG", 4096)
	// é is two bytes: 2044 of them are 4097 bytes, though 2053 characters.
	wide := map[string]string{"A1": strings.Repeat("é", 2044)}
	// Several keys are measured as the whole object, keys sorted, & verbatim.
	several := map[string]string{"B_KEY": strings.Repeat("&", 4000), "A_KEY": strings.Repeat("y", 100)}
	severalJSON := `{"A_KEY":"` + several["A_KEY"] + `","B_KEY":"` + several["B_KEY"] + `"}`

	cases := []struct {
		name   string
		vars   map[string]string
		code   string
		status int
		msg    string
	}{
		{"reserved key", map[string]string{"AWS_REGION": "eu-west-1", "FOO": "bar"}, "InvalidParameterValueException", 400, reservedMsg + "AWS_REGION"},
		// AWS's own answer to these two reads "AWS_REGION, AWS_ACCESS_KEY".
		{"reserved keys in documentation order", map[string]string{"AWS_ACCESS_KEY": "a", "AWS_REGION": "r"}, "InvalidParameterValueException", 400, reservedMsg + "AWS_REGION, AWS_ACCESS_KEY"},
		{"over 4 KB", over, "InvalidParameterValueException", 400, sizeMsg + overJSON},
		{"over 4 KB in bytes, not characters", wide, "InvalidParameterValueException", 400, sizeMsg + `{"A1":"` + wide["A1"] + `"}`},
		{"over 4 KB across keys", several, "InvalidParameterValueException", 400, sizeMsg + severalJSON},
		{"key with a hyphen", map[string]string{"MY-KEY": "v"}, "ValidationException", 400, patternMsg},
		{"one-letter key", map[string]string{"A": "v"}, "ValidationException", 400, patternMsg},
		{"key starting with a digit", map[string]string{"1A": "v"}, "ValidationException", 400, patternMsg},
		// _HANDLER is reserved, but fails the key pattern first.
		{"key starting with an underscore", map[string]string{"_HANDLER": "v"}, "ValidationException", 400, patternMsg},
	}
	for _, key := range reservedEnv {
		if envKeyRE.MatchString(key) {
			cases = append(cases, struct {
				name   string
				vars   map[string]string
				code   string
				status int
				msg    string
			}{"reserved " + key, map[string]string{key: "v"}, "InvalidParameterValueException", 400, reservedMsg + key})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.c.CreateFunction(ctx(t), &awslambda.CreateFunctionInput{
				FunctionName: aws.String("fresh"),
				Role:         aws.String(goodRole),
				PackageType:  types.PackageTypeImage,
				Code:         &types.FunctionCode{ImageUri: aws.String(e.img.v1)},
				Environment:  &types.Environment{Variables: tc.vars},
			})
			apiErrExact(t, err, tc.code, tc.status, tc.msg)
			_, err = e.c.UpdateFunctionConfiguration(ctx(t), &awslambda.UpdateFunctionConfigurationInput{
				FunctionName: aws.String("env"),
				Environment:  &types.Environment{Variables: tc.vars},
			})
			apiErrExact(t, err, tc.code, tc.status, tc.msg)
		})
	}

	// What the rules allow: exactly 4 KB, and TZ, LANG and PATH, which are
	// not reserved.
	for _, vars := range []map[string]string{atLimit, {"TZ": "Europe/Paris", "LANG": "C.UTF-8", "PATH": "/usr/bin"}} {
		if _, err := e.c.UpdateFunctionConfiguration(ctx(t), &awslambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("env"),
			Environment:  &types.Environment{Variables: vars},
		}); err != nil {
			t.Fatalf("UpdateFunctionConfiguration with %d variables: %v", len(vars), err)
		}
		e.waitUpdated("env")
	}
	if _, err := e.c.GetFunction(ctx(t), &awslambda.GetFunctionInput{FunctionName: aws.String("fresh")}); err == nil {
		t.Error("a rejected CreateFunction created the function")
	}
}

func TestListTagAndDelete(t *testing.T) {
	e := newEnv(t, nil)
	e.delay.Store(0)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		e.create(n, nil)
	}
	var names []string
	pages := 0
	p := awslambda.NewListFunctionsPaginator(e.c, &awslambda.ListFunctionsInput{MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, f := range page.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
	}
	if strings.Join(names, ",") != "a,b,c,d,e" || pages != 3 {
		t.Errorf("listed %v in %d pages", names, pages)
	}
	_, err := e.c.ListFunctions(ctx(t), &awslambda.ListFunctionsInput{MaxItems: aws.Int32(10001)})
	apiErr(t, err, "ValidationException", 400, "maxItems")

	arn := "arn:aws:lambda:us-east-1:000000000000:function:a"
	if _, err := e.c.TagResource(ctx(t), &awslambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"k1": "v1", "k2": "v2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.UntagResource(ctx(t), &awslambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"k1"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.c.ListTags(ctx(t), &awslambda.ListTagsInput{Resource: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags.Tags) != 1 || tags.Tags["k2"] != "v2" {
		t.Errorf("tags %v", tags.Tags)
	}
	_, err = e.c.ListTags(ctx(t), &awslambda.ListTagsInput{Resource: aws.String("arn:aws:lambda:us-east-1:000000000000:function:ghost")})
	apiErr(t, err, "ResourceNotFoundException", 404, "ghost")

	if _, err := e.c.DeleteFunction(ctx(t), &awslambda.DeleteFunctionInput{FunctionName: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.GetFunction(ctx(t), &awslambda.GetFunctionInput{FunctionName: aws.String("a")})
	apiErr(t, err, "ResourceNotFoundException", 404, "function:a")
	list, _ := e.c.ListFunctions(ctx(t), &awslambda.ListFunctionsInput{})
	if len(list.Functions) != 4 {
		t.Errorf("%d functions after delete", len(list.Functions))
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, func(o *Options) { o.DataDir = dir })
	e.create("kept", func(in *awslambda.CreateFunctionInput) {
		in.Tags = map[string]string{"owner": "me"}
		in.Environment = &types.Environment{Variables: map[string]string{"FOO": "persisted"}}
	})
	if _, err := e.c.UpdateFunctionConfiguration(ctx(t), &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("kept"), MemorySize: aws.Int32(384)}); err != nil {
		t.Fatal(err)
	}
	e.waitUpdated("kept")
	before, _ := e.c.GetFunction(ctx(t), &awslambda.GetFunctionInput{FunctionName: aws.String("kept")})
	// Another one whose update is cut short by the restart.
	e.create("mid-update", nil)
	e.delay.Store(int64(time.Hour))
	if _, err := e.c.UpdateFunctionConfiguration(ctx(t), &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("mid-update"), Timeout: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}

	old := e.svc.Instance()
	e.stop()
	assertNoContainers(t, old)
	e.delay.Store(int64(100 * time.Millisecond))
	e.start()

	after, err := e.c.GetFunction(ctx(t), &awslambda.GetFunctionInput{FunctionName: aws.String("kept")})
	if err != nil {
		t.Fatal(err)
	}
	b, a := before.Configuration, after.Configuration
	if aws.ToInt32(a.MemorySize) != 384 || aws.ToString(a.RevisionId) != aws.ToString(b.RevisionId) ||
		aws.ToString(a.CodeSha256) != aws.ToString(b.CodeSha256) || aws.ToString(a.LastModified) != aws.ToString(b.LastModified) ||
		a.State != types.StateActive || after.Tags["owner"] != "me" {
		t.Errorf("after restart: %+v tags %v", a, after.Tags)
	}
	mid, err := e.c.GetFunctionConfiguration(ctx(t), &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String("mid-update")})
	if err != nil {
		t.Fatal(err)
	}
	if mid.LastUpdateStatus != types.LastUpdateStatusSuccessful || aws.ToInt32(mid.Timeout) != 7 {
		t.Errorf("interrupted update after restart: %s, timeout %d", mid.LastUpdateStatus, aws.ToInt32(mid.Timeout))
	}
	r := decodeResult(t, e.invoke("kept", map[string]any{"msg": "again"}, nil))
	if r.Env["FOO"] != "persisted" || r.Env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] != "384" {
		t.Errorf("restarted function runs with %v", r.Env)
	}
}

func TestDeletedImageFailsTheFunction(t *testing.T) {
	e := newEnv(t, nil)
	// A copy of v1 in its own repository, to delete.
	auth := remote.WithAuth(&authn.Basic{Username: regUser, Password: regPass})
	src, _ := name.ParseReference(e.img.v1, name.Insecure)
	img, err := remote.Image(src, auth)
	if err != nil {
		t.Fatal(err)
	}
	dst, _ := name.ParseReference(e.img.host+"/doomed:v1", name.Insecure)
	if err := remote.Write(dst, img, auth); err != nil {
		t.Fatal(err)
	}
	e.create("orphan", func(in *awslambda.CreateFunctionInput) { in.Code.ImageUri = aws.String(dst.String()) })
	decodeResult(t, e.invoke("orphan", map[string]any{}, nil))

	if err := remote.Delete(dst.Context().Digest(e.img.digest1), auth); err != nil {
		t.Fatal(err)
	}
	got, err := e.c.GetFunctionConfiguration(ctx(t), &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String("orphan")})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != types.StateFailed || got.StateReasonCode != types.StateReasonCodeImageDeleted {
		t.Fatalf("after the image was deleted: %s %s %q", got.State, got.StateReasonCode, aws.ToString(got.StateReason))
	}
	_, err = e.c.Invoke(ctx(t), &awslambda.InvokeInput{FunctionName: aws.String("orphan"), Payload: []byte(`{}`)})
	apiErr(t, err, "ResourceConflictException", 409, "The function is currently in the following state: Failed")
	_, err = e.c.UpdateFunctionConfiguration(ctx(t), &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("orphan"), MemorySize: aws.Int32(512)})
	apiErr(t, err, "ResourceConflictException", 409, "Failed")
	eventually(t, 10*time.Second, "the failed function's containers to go", func() bool {
		return len(containers(t, e.svc.Instance())) == 0
	})

	// New code brings it back.
	if _, err := e.c.UpdateFunctionCode(ctx(t), &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("orphan"), ImageUri: aws.String(e.img.v2)}); err != nil {
		t.Fatal(err)
	}
	e.waitUpdated("orphan")
	e.waitActive("orphan")
	decodeResult(t, e.invoke("orphan", map[string]any{}, nil))
}

// A function runs with its role's temporary credentials, as Lambda sets
// them, and with the emulator as its SDK's endpoint unless it names one.
// Each sandbox has its own credentials; none are in the configuration.
func TestSandboxCredentialsAndEndpoint(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Endpoint = "http://127.0.0.1:4566" })
	e.delay.Store(0)
	e.create("creds", nil)
	e.create("own-endpoint", func(in *awslambda.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"AWS_ENDPOINT_URL": "http://elsewhere:9000"}}
	})

	r := decodeResult(t, e.invoke("creds", map[string]any{}, nil))
	if !regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`).MatchString(r.Env["AWS_ACCESS_KEY_ID"]) {
		t.Errorf("AWS_ACCESS_KEY_ID %q is not an STS key id", r.Env["AWS_ACCESS_KEY_ID"])
	}
	if len(r.Env["AWS_SECRET_ACCESS_KEY"]) != 40 || r.Env["AWS_SESSION_TOKEN"] == "" {
		t.Errorf("secret of %d characters, token %q", len(r.Env["AWS_SECRET_ACCESS_KEY"]), r.Env["AWS_SESSION_TOKEN"])
	}
	if r.Env["AWS_ENDPOINT_URL"] != "http://127.0.0.1:4566" {
		t.Errorf("AWS_ENDPOINT_URL = %q", r.Env["AWS_ENDPOINT_URL"])
	}
	own := decodeResult(t, e.invoke("own-endpoint", map[string]any{}, nil))
	if own.Env["AWS_ENDPOINT_URL"] != "http://elsewhere:9000" {
		t.Errorf("the function's own AWS_ENDPOINT_URL became %q", own.Env["AWS_ENDPOINT_URL"])
	}
	if own.Env["AWS_ACCESS_KEY_ID"] == r.Env["AWS_ACCESS_KEY_ID"] {
		t.Error("two sandboxes share credentials")
	}
	cfg, err := e.c.GetFunctionConfiguration(ctx(t), &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String("creds")})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Environment != nil && len(cfg.Environment.Variables) != 0 {
		t.Errorf("the configuration shows variables %v", cfg.Environment.Variables)
	}
}
