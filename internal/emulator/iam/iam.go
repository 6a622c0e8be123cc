// Package iam emulates the IAM and STS calls the provider makes, over the
// awsQuery protocol the aws-sdk-go-v2 iam and sts clients speak: form-encoded
// requests, XML responses. STS's AssumeRole and AssumeRoleWithWebIdentity
// evaluate the role's trust policy (trust.go) and issue role sessions that
// later requests are recognized by (sts.go, Caller).
//
// IAM and STS each declare one awsproto table (newIAMAPI, newSTSAPI): a row
// per Action, a handler whose input type names the form parameters
// (`query:"RoleName"`, `query:"Tags.member"` for lists). A new call is a
// row plus its handler; errors are *awsproto.Error.
package iam

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/statefile"
)

// Options configures the service.
type Options struct {
	// DataDir, when set, is where roles are kept across restarts.
	DataDir string
}

// Role is one emulated IAM role.
type Role struct {
	Name                     string    `json:"name"`
	ID                       string    `json:"id"`
	Path                     string    `json:"path"`
	Arn                      string    `json:"arn"`
	AssumeRolePolicyDocument string    `json:"assume_role_policy_document"`
	Description              string    `json:"description,omitempty"`
	MaxSessionDuration       int       `json:"max_session_duration"`
	PermissionsBoundary      string    `json:"permissions_boundary,omitempty"`
	Created                  time.Time `json:"created"`
	Tags                     []Tag     `json:"tags,omitempty"`
	AttachedPolicies         []string  `json:"attached_policies,omitempty"`
}

// Tag is an IAM tag.
type Tag struct {
	Key   string `json:"key" query:"Key"`
	Value string `json:"value" query:"Value"`
}

// Service holds the roles and serves IAM and STS.
type Service struct {
	file   string // "" when in memory
	iamAPI *awsproto.API
	stsAPI *awsproto.API

	mu    sync.Mutex
	roles map[string]*Role // by name; IAM role names are unique case-insensitively, keyed lower-case
	// sessions are the role sessions STS issued, by access key id; in
	// memory only (sts.go).
	sessions map[string]*session
	clock    func() time.Time
}

// New returns a service, loading roles from opts.DataDir when it has any.
func New(opts Options) (*Service, error) {
	s := &Service{roles: map[string]*Role{}, sessions: map[string]*session{}}
	s.iamAPI, s.stsAPI = s.newIAMAPI(), s.newSTSAPI()
	if opts.DataDir == "" {
		return s, nil
	}
	if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("iam: %w", err)
	}
	s.file = filepath.Join(opts.DataDir, "roles.json")
	var roles []*Role
	if err := statefile.Load(s.file, &roles); err != nil {
		return nil, fmt.Errorf("iam: %w", err)
	}
	for _, r := range roles {
		s.roles[strings.ToLower(r.Name)] = r
	}
	return s, nil
}

// Reset drops every role and role session.
func (s *Service) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles = map[string]*Role{}
	s.sessions = map[string]*session{}
	_ = s.saveLocked()
}

// Close writes the roles out once more; every change is already saved.
func (s *Service) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked()
}

// saveLocked writes the roles to the data dir, if there is one.
func (s *Service) saveLocked() error {
	if s.file == "" {
		return nil
	}
	roles := make([]*Role, 0, len(s.roles))
	for _, r := range s.roles {
		roles = append(roles, r)
	}
	sort.Slice(roles, func(i, j int) bool { return roles[i].Name < roles[j].Name })
	return statefile.Save(s.file, roles)
}

// Role returns a copy of the named role.
func (s *Service) Role(name string) (Role, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.roles[strings.ToLower(name)]
	if !ok {
		return Role{}, false
	}
	return *r, true
}

// errCannotAssume is what Lambda answers for a role that is missing or does
// not trust it.
var errCannotAssume = errors.New("The role defined for the function cannot be assumed by Lambda.")

// CheckLambdaRole reports whether Lambda could assume roleARN: the role
// exists and its trust policy allows sts:AssumeRole to lambda.amazonaws.com.
func (s *Service) CheckLambdaRole(roleARN string) error {
	i := strings.Index(roleARN, ":role/")
	if !strings.HasPrefix(roleARN, "arn:aws:iam::") || i < 0 {
		return errCannotAssume
	}
	name := roleARN[strings.LastIndex(roleARN, "/")+1:]
	r, ok := s.Role(name)
	if !ok || r.Arn != roleARN {
		return errCannotAssume
	}
	if !TrustsService(r.AssumeRolePolicyDocument, "lambda.amazonaws.com") {
		return errCannotAssume
	}
	return nil
}

// TrustsService reports whether a trust policy lets service assume the role.
func TrustsService(doc, service string) bool {
	var p struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(doc), &p) != nil {
		return false
	}
	type statement struct {
		Effect    string
		Action    json.RawMessage
		Principal json.RawMessage
	}
	var stmts []statement
	if json.Unmarshal(p.Statement, &stmts) != nil {
		var one statement
		if json.Unmarshal(p.Statement, &one) != nil {
			return false
		}
		stmts = []statement{one}
	}
	for _, st := range stmts {
		if st.Effect != "Allow" {
			continue
		}
		if !anyMatch(stringOrList(st.Action), "sts:AssumeRole", "sts:*", "*") {
			continue
		}
		var star string
		if json.Unmarshal(st.Principal, &star) == nil && star == "*" {
			return true
		}
		var pr map[string]json.RawMessage
		if json.Unmarshal(st.Principal, &pr) != nil {
			continue
		}
		if anyMatch(stringOrList(pr["Service"]), service) {
			return true
		}
	}
	return false
}

func stringOrList(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}

func anyMatch(have []string, want ...string) bool {
	for _, h := range have {
		for _, w := range want {
			if strings.EqualFold(h, w) {
				return true
			}
		}
	}
	return false
}

// newIAMAPI is IAM's table of operations: the awsQuery actions the
// emulated IAM answers, each a row with its handler, whose input type names
// the form parameters. A new call is a row here plus its handler.
func (s *Service) newIAMAPI() *awsproto.API {
	return &awsproto.API{
		Name:         "iam",
		Protocol:     awsproto.AWSQuery,
		SigningNames: []string{"iam"},
		XMLNamespace: "https://iam.amazonaws.com/doc/2010-05-08/",
		Operations: []awsproto.Operation{
			{Name: "CreateRole", Handler: awsproto.Handle(s.createRole)},
			{Name: "GetRole", Handler: awsproto.Handle(s.getRole)},
			{Name: "DeleteRole", Handler: awsproto.Handle(s.deleteRole)},
			{Name: "AttachRolePolicy", Handler: awsproto.Handle(s.attachRolePolicy)},
			{Name: "DetachRolePolicy", Handler: awsproto.Handle(s.detachRolePolicy)},
			{Name: "ListAttachedRolePolicies", Handler: awsproto.Handle(s.listAttachedRolePolicies)},
		},
		Unknown:  invalidAction("2010-05-08"),
		Throttle: throttling(),
		Failure:  &awsproto.Error{Status: http.StatusInternalServerError, Code: "ServiceFailure", Message: unknownFailure},
	}
}

// newSTSAPI is STS's table of operations.
func (s *Service) newSTSAPI() *awsproto.API {
	return &awsproto.API{
		Name:         "sts",
		Protocol:     awsproto.AWSQuery,
		SigningNames: []string{"sts"},
		XMLNamespace: "https://sts.amazonaws.com/doc/2011-06-15/",
		Operations: []awsproto.Operation{
			{Name: "GetCallerIdentity", Handler: awsproto.Handle(s.getCallerIdentity)},
			{Name: "AssumeRole", Handler: awsproto.Handle(s.assumeRole)},
			{Name: "AssumeRoleWithWebIdentity", Handler: awsproto.Handle(s.assumeRoleWithWebIdentity)},
		},
		Unknown:  invalidAction("2011-06-15"),
		Throttle: throttling(),
		Failure:  &awsproto.Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: unknownFailure},
	}
}

const unknownFailure = "The request processing has failed because of an unknown error, exception or failure."

func invalidAction(version string) func(string) *awsproto.Error {
	return func(action string) *awsproto.Error {
		return awsproto.Errorf(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", action, version)
	}
}

func throttling() *awsproto.Error {
	return &awsproto.Error{Status: http.StatusBadRequest, Code: "Throttling", Message: "Rate exceeded"}
}

// IAMAPI is IAM's table of operations, for the emulator's router.
func (s *Service) IAMAPI() *awsproto.API { return s.iamAPI }

// STSAPI is STS's table of operations, for the emulator's router.
func (s *Service) STSAPI() *awsproto.API { return s.stsAPI }

// ServeIAM answers an IAM request.
func (s *Service) ServeIAM(w http.ResponseWriter, r *http.Request) { s.iamAPI.ServeHTTP(w, r) }

// ServeSTS answers an STS request.
func (s *Service) ServeSTS(w http.ResponseWriter, r *http.Request) { s.stsAPI.ServeHTTP(w, r) }

func noSuchRole(name string) *awsproto.Error {
	return awsproto.Errorf(http.StatusNotFound, "NoSuchEntity", "The role with name %s cannot be found.", name)
}

func validation(msg string) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusBadRequest, Code: "ValidationError", Message: msg}
}

func invalidInput(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidInput", format, args...)
}

type callerIdentity struct {
	Account string `xml:"Account"`
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
}

var (
	roleNameRE  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	rolePathRE  = regexp.MustCompile(`^/([\x21-\x7E]*/)?$`)
	policyArnRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/([\x21-\x7E]+/)*([\w+=,.@-]+)$`)
)

type createRoleInput struct {
	RoleName                 string `query:"RoleName"`
	AssumeRolePolicyDocument string `query:"AssumeRolePolicyDocument"`
	Path                     string `query:"Path"`
	Description              string `query:"Description"`
	MaxSessionDuration       string `query:"MaxSessionDuration"`
	PermissionsBoundary      string `query:"PermissionsBoundary"`
	Tags                     []Tag  `query:"Tags.member"`
}

func (s *Service) createRole(_ *awsproto.Call, in *createRoleInput) (any, error) {
	name := in.RoleName
	doc := in.AssumeRolePolicyDocument
	path := in.Path
	if path == "" {
		path = "/"
	}
	switch {
	case name == "":
		return nil, validation("1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null")
	case !roleNameRE.MatchString(name):
		return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name))
	case doc == "":
		return nil, validation("1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null")
	case len(path) > 512 || !rolePathRE.MatchString(path):
		return nil, validation(fmt.Sprintf("The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters. Value: %s", path))
	}
	if !json.Valid([]byte(doc)) {
		return nil, &awsproto.Error{Status: http.StatusBadRequest, Code: "MalformedPolicyDocument", Message: "This policy contains invalid Json"}
	}
	maxSession := 3600
	if v := in.MaxSessionDuration; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 3600 || n > 43200 {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200", v))
		}
		maxSession = n
	}
	boundary := in.PermissionsBoundary
	if boundary != "" && !policyArnRE.MatchString(boundary) {
		return nil, invalidInput("ARN %s is not valid.", boundary)
	}
	tags := in.Tags

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.roles[strings.ToLower(name)]; ok {
		return nil, awsproto.Errorf(http.StatusConflict, "EntityAlreadyExists", "Role with name %s already exists.", name)
	}
	role := &Role{
		Name:                     name,
		ID:                       "AROA" + randomID(17),
		Path:                     path,
		Arn:                      "arn:aws:iam::" + awsproto.AccountID + ":role" + path + name,
		AssumeRolePolicyDocument: doc,
		Description:              in.Description,
		MaxSessionDuration:       maxSession,
		PermissionsBoundary:      boundary,
		Created:                  time.Now().UTC().Truncate(time.Second),
		Tags:                     tags,
	}
	s.roles[strings.ToLower(name)] = role
	if err := s.saveLocked(); err != nil {
		return nil, err
	}
	return roleResult{Role: toXML(role)}, nil
}

type roleInput struct {
	RoleName string `query:"RoleName"`
}

func (s *Service) getRole(_ *awsproto.Call, in *roleInput) (any, error) {
	name := in.RoleName
	s.mu.Lock()
	defer s.mu.Unlock()
	role, ok := s.roles[strings.ToLower(name)]
	if !ok {
		return nil, noSuchRole(name)
	}
	return roleResult{Role: toXML(role)}, nil
}

func (s *Service) deleteRole(_ *awsproto.Call, in *roleInput) (any, error) {
	name := in.RoleName
	s.mu.Lock()
	defer s.mu.Unlock()
	role, ok := s.roles[strings.ToLower(name)]
	if !ok {
		return nil, noSuchRole(name)
	}
	if len(role.AttachedPolicies) > 0 {
		return nil, &awsproto.Error{Status: http.StatusConflict, Code: "DeleteConflict", Message: "Cannot delete entity, must detach all policies first."}
	}
	delete(s.roles, strings.ToLower(name))
	return nil, s.saveLocked()
}

type rolePolicyInput struct {
	RoleName  string `query:"RoleName"`
	PolicyArn string `query:"PolicyArn"`
}

func (s *Service) attachRolePolicy(_ *awsproto.Call, in *rolePolicyInput) (any, error) {
	name, arn := in.RoleName, in.PolicyArn
	if !policyArnRE.MatchString(arn) {
		return nil, invalidInput("ARN %s is not valid.", arn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	role, ok := s.roles[strings.ToLower(name)]
	if !ok {
		return nil, noSuchRole(name)
	}
	for _, a := range role.AttachedPolicies {
		if a == arn {
			return nil, nil // attaching twice is a no-op in IAM
		}
	}
	role.AttachedPolicies = append(role.AttachedPolicies, arn)
	return nil, s.saveLocked()
}

func (s *Service) detachRolePolicy(_ *awsproto.Call, in *rolePolicyInput) (any, error) {
	name, arn := in.RoleName, in.PolicyArn
	if !policyArnRE.MatchString(arn) {
		return nil, invalidInput("ARN %s is not valid.", arn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	role, ok := s.roles[strings.ToLower(name)]
	if !ok {
		return nil, noSuchRole(name)
	}
	for i, a := range role.AttachedPolicies {
		if a == arn {
			role.AttachedPolicies = append(role.AttachedPolicies[:i:i], role.AttachedPolicies[i+1:]...)
			return nil, s.saveLocked()
		}
	}
	return nil, awsproto.Errorf(http.StatusNotFound, "NoSuchEntity", "Policy %s was not found.", arn)
}

type attachedPolicy struct {
	PolicyArn  string `xml:"PolicyArn"`
	PolicyName string `xml:"PolicyName"`
}

type listAttachedResult struct {
	AttachedPolicies []attachedPolicy `xml:"AttachedPolicies>member"`
	IsTruncated      bool             `xml:"IsTruncated"`
	Marker           string           `xml:"Marker,omitempty"`
}

type listAttachedRolePoliciesInput struct {
	RoleName   string `query:"RoleName"`
	PathPrefix string `query:"PathPrefix"`
	MaxItems   string `query:"MaxItems"`
	Marker     string `query:"Marker"`
}

func (s *Service) listAttachedRolePolicies(_ *awsproto.Call, in *listAttachedRolePoliciesInput) (any, error) {
	name := in.RoleName
	prefix := in.PathPrefix
	maxItems := 100
	if v := in.MaxItems; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", v))
		}
		maxItems = n
	}
	start := 0
	if m := in.Marker; m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 0 {
			return nil, invalidInput("Invalid Marker.")
		}
		start = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	role, ok := s.roles[strings.ToLower(name)]
	if !ok {
		return nil, noSuchRole(name)
	}
	var all []attachedPolicy
	for _, arn := range role.AttachedPolicies {
		m := policyArnRE.FindStringSubmatch(arn)
		path := "/" + m[2]
		if prefix != "" && !strings.HasPrefix(path, prefix) {
			continue
		}
		all = append(all, attachedPolicy{PolicyArn: arn, PolicyName: m[3]})
	}
	res := listAttachedResult{}
	if start < len(all) {
		end := min(start+maxItems, len(all))
		res.AttachedPolicies = all[start:end]
		if end < len(all) {
			res.IsTruncated = true
			res.Marker = strconv.Itoa(end)
		}
	}
	return res, nil
}

type roleResult struct {
	Role roleXML `xml:"Role"`
}

type boundaryXML struct {
	Arn  string `xml:"PermissionsBoundaryArn"`
	Type string `xml:"PermissionsBoundaryType"`
}

type tagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type tagsXML struct {
	Member []tagXML `xml:"member"`
}

type roleXML struct {
	Path                     string       `xml:"Path"`
	RoleName                 string       `xml:"RoleName"`
	RoleID                   string       `xml:"RoleId"`
	Arn                      string       `xml:"Arn"`
	CreateDate               string       `xml:"CreateDate"`
	AssumeRolePolicyDocument string       `xml:"AssumeRolePolicyDocument"`
	Description              string       `xml:"Description,omitempty"`
	MaxSessionDuration       int          `xml:"MaxSessionDuration"`
	PermissionsBoundary      *boundaryXML `xml:"PermissionsBoundary,omitempty"`
	Tags                     *tagsXML     `xml:"Tags,omitempty"`
}

func toXML(r *Role) roleXML {
	x := roleXML{
		Path:       r.Path,
		RoleName:   r.Name,
		RoleID:     r.ID,
		Arn:        r.Arn,
		CreateDate: r.Created.Format(time.RFC3339),
		// IAM returns policy documents URL-encoded (RFC 3986).
		AssumeRolePolicyDocument: escapeRFC3986(r.AssumeRolePolicyDocument),
		Description:              r.Description,
		MaxSessionDuration:       r.MaxSessionDuration,
	}
	if r.PermissionsBoundary != "" {
		x.PermissionsBoundary = &boundaryXML{Arn: r.PermissionsBoundary, Type: "PermissionsBoundaryPolicy"}
	}
	if len(r.Tags) > 0 {
		x.Tags = &tagsXML{}
		for _, t := range r.Tags {
			x.Tags.Member = append(x.Tags.Member, tagXML(t))
		}
	}
	return x
}

func escapeRFC3986(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// randomID returns n characters of IAM's unique-id alphabet.
func randomID(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
