package iam

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

// Sessions: AssumeRole and AssumeRoleWithWebIdentity issue temporary
// credentials (an ASIA key id, a secret and a session token) and keep them in
// memory. A later request whose SigV4 access key id or session token is one
// of them is that role session: GetCallerIdentity answers its assumed-role
// ARN and the request log names it. A token in the shape STS issues that is
// unknown answers InvalidClientTokenId; an expired one, ExpiredToken.
// Signatures are not checked, and other credentials (long-term keys, the
// Lambda sandboxes' own) are the account's root, as before.

// sessionTokenPrefix marks the session tokens this STS issues, so a token
// minted elsewhere (a Lambda sandbox's) is not mistaken for an unknown one.
const sessionTokenPrefix = "AQEMUSTS"

// Principal is who signed a request.
type Principal struct {
	Arn    string // arn:aws:iam::ACCOUNT:root or arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
	UserID string
	// RoleArn is the assumed role's ARN, "" for the root.
	RoleArn string
}

func rootPrincipal() Principal {
	return Principal{Arn: "arn:aws:iam::" + awsproto.AccountID + ":root", UserID: awsproto.AccountID}
}

type session struct {
	principal Principal
	secret    string
	token     string
	expires   time.Time
}

var (
	accessKeyRE = regexp.MustCompile(`Credential=([^/,\s]+)/`)
	roleArnRE   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role(/[\x21-\x7E]*/|/)([\w+=,.@-]{1,64})$`)
	sessionRE   = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

// Caller returns the principal that signed r: a role session for the
// credentials this STS issued, else the account's root. An unknown or
// expired session answers the error STS would.
func (s *Service) Caller(r *http.Request) (Principal, *awsproto.Error) {
	token := r.Header.Get("X-Amz-Security-Token")
	key := ""
	if m := accessKeyRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		key = m[1]
	}
	if q := r.URL.Query(); q.Get("X-Amz-Credential") != "" {
		key, _, _ = strings.Cut(q.Get("X-Amz-Credential"), "/")
		token = q.Get("X-Amz-Security-Token")
	}
	s.mu.Lock()
	sess, known := s.sessions[key]
	now := s.now()
	s.mu.Unlock()
	switch {
	case !known && strings.HasPrefix(token, sessionTokenPrefix):
		return Principal{}, invalidClientToken()
	case !known:
		return rootPrincipal(), nil
	case subtle.ConstantTimeCompare([]byte(token), []byte(sess.token)) != 1:
		return Principal{}, invalidClientToken()
	case !now.Before(sess.expires):
		return Principal{}, &awsproto.Error{Status: http.StatusForbidden, Code: "ExpiredToken", Message: "The security token included in the request is expired"}
	}
	return sess.principal, nil
}

func invalidClientToken() *awsproto.Error {
	return &awsproto.Error{Status: http.StatusForbidden, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."}
}

func (s *Service) getCallerIdentity(c *awsproto.Call, _ *struct{}) (any, error) {
	p, err := s.Caller(c.Request)
	if err != nil {
		return nil, err
	}
	return callerIdentity{Account: awsproto.AccountID, Arn: p.Arn, UserID: p.UserID}, nil
}

type policyArn struct {
	Arn string `query:"arn"`
}

// sessionInput is what both calls share.
type sessionInput struct {
	RoleArn         string      `query:"RoleArn"`
	RoleSessionName string      `query:"RoleSessionName"`
	DurationSeconds string      `query:"DurationSeconds"`
	Policy          string      `query:"Policy"`
	PolicyArns      []policyArn `query:"PolicyArns.member"`
}

type assumeRoleInput struct {
	sessionInput
	ExternalID        string   `query:"ExternalId"`
	Tags              []Tag    `query:"Tags.member"`
	TransitiveTagKeys []string `query:"TransitiveTagKeys.member"`
}

type webIdentityInput struct {
	sessionInput
	WebIdentityToken string `query:"WebIdentityToken"`
	ProviderID       string `query:"ProviderId"`
}

type credentialsXML struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumedRoleUserXML struct {
	Arn           string `xml:"Arn"`
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type assumeRoleResult struct {
	Credentials      credentialsXML     `xml:"Credentials"`
	AssumedRoleUser  assumedRoleUserXML `xml:"AssumedRoleUser"`
	PackedPolicySize int                `xml:"PackedPolicySize"`
}

type webIdentityResult struct {
	Credentials                 credentialsXML     `xml:"Credentials"`
	SubjectFromWebIdentityToken string             `xml:"SubjectFromWebIdentityToken"`
	AssumedRoleUser             assumedRoleUserXML `xml:"AssumedRoleUser"`
	PackedPolicySize            int                `xml:"PackedPolicySize"`
	Provider                    string             `xml:"Provider"`
	Audience                    string             `xml:"Audience"`
}

// check validates what both calls share, as STS does, and returns the role
// and the session's duration.
func (s *Service) check(in *sessionInput) (*Role, time.Duration, *awsproto.Error) {
	var v awsproto.Validation
	if !roleArnRE.MatchString(in.RoleArn) || len(in.RoleArn) < 20 || len(in.RoleArn) > 2048 {
		return nil, 0, validation(fmt.Sprintf("%s is invalid", in.RoleArn))
	}
	if !sessionRE.MatchString(in.RoleSessionName) {
		v.Add(in.RoleSessionName, "roleSessionName", `Member must satisfy regular expression pattern: [\w+=,.@-]* and have length between 2 and 64`)
	}
	if len(in.Policy) > 2048 {
		v.AddSensitive("policy", "Member must have length less than or equal to 2048")
	}
	if len(in.PolicyArns) > 10 {
		v.AddSensitive("policyArns", "Member must have length less than or equal to 10")
	}
	seconds := 3600
	if in.DurationSeconds != "" {
		n, err := strconv.Atoi(in.DurationSeconds)
		if err != nil {
			return nil, 0, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be a number", in.DurationSeconds))
		}
		seconds = n
		v.Between(&seconds, "durationSeconds", 900, 43200)
	}
	if e := v.Err(); e != nil {
		e.Code = "ValidationError" // STS's spelling
		return nil, 0, e
	}
	if in.Policy != "" && !json.Valid([]byte(in.Policy)) {
		return nil, 0, &awsproto.Error{Status: http.StatusBadRequest, Code: "MalformedPolicyDocument", Message: "The policy is not in the valid JSON format."}
	}
	for _, p := range in.PolicyArns {
		if !policyArnRE.MatchString(p.Arn) {
			return nil, 0, invalidInput("ARN %s is not valid.", p.Arn)
		}
	}
	m := roleArnRE.FindStringSubmatch(in.RoleArn)
	role, ok := s.Role(m[3])
	if m[1] != awsproto.AccountID || !ok || role.Arn != in.RoleArn {
		return nil, 0, nil // the caller learns only that it is not authorized
	}
	if seconds > role.MaxSessionDuration {
		return nil, 0, validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	return &role, time.Duration(seconds) * time.Second, nil
}

func (s *Service) assumeRole(c *awsproto.Call, in *assumeRoleInput) (any, error) {
	caller, err := s.Caller(c.Request)
	if err != nil {
		return nil, err
	}
	var v awsproto.Validation
	if in.ExternalID != "" && (len(in.ExternalID) < 2 || len(in.ExternalID) > 1224) {
		v.AddSensitive("externalId", "Member must have length between 2 and 1224")
	}
	if len(in.Tags) > 50 {
		v.AddSensitive("tags", "Member must have length less than or equal to 50")
	}
	if e := v.Err(); e != nil {
		e.Code = "ValidationError"
		return nil, e
	}
	role, d, verr := s.check(&in.sessionInput)
	if verr != nil {
		return nil, verr
	}
	denied := awsproto.Errorf(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.Arn, in.RoleArn)
	if role == nil {
		return nil, denied
	}
	ctx := map[string][]string{"aws:PrincipalArn": {caller.Arn}}
	if in.ExternalID != "" {
		ctx["sts:ExternalId"] = []string{in.ExternalID}
	}
	for _, t := range in.Tags {
		ctx["aws:RequestTag/"+t.Key] = []string{t.Value}
	}
	if !allows(role.AssumeRolePolicyDocument, "sts:AssumeRole", awsPrincipals(caller), ctx) {
		return nil, denied
	}
	creds, user := s.issue(role, in.RoleSessionName, d)
	return assumeRoleResult{Credentials: creds, AssumedRoleUser: user, PackedPolicySize: packedSize(in.Policy, len(in.Tags))}, nil
}

// awsPrincipals are the names an AWS principal in a trust policy may give
// the caller: its ARN, its account, and for a role session the role's ARN.
func awsPrincipals(p Principal) []string {
	names := []string{"*", p.Arn, awsproto.AccountID, "arn:aws:iam::" + awsproto.AccountID + ":root"}
	if p.RoleArn != "" {
		names = append(names, p.RoleArn)
	}
	return names
}

func (s *Service) assumeRoleWithWebIdentity(_ *awsproto.Call, in *webIdentityInput) (any, error) {
	var v awsproto.Validation
	if len(in.WebIdentityToken) < 4 || len(in.WebIdentityToken) > 20000 {
		v.AddSensitive("webIdentityToken", "Member must have length between 4 and 20000")
	}
	if e := v.Err(); e != nil {
		e.Code = "ValidationError"
		return nil, e
	}
	claims, terr := parseJWT(in.WebIdentityToken, s.now())
	if terr != nil {
		return nil, terr
	}
	role, d, verr := s.check(&in.sessionInput)
	if verr != nil {
		return nil, verr
	}
	denied := &awsproto.Error{Status: http.StatusForbidden, Code: "AccessDenied", Message: "Not authorized to perform sts:AssumeRoleWithWebIdentity"}
	if role == nil {
		return nil, denied
	}
	issuer := strings.TrimPrefix(claims.Issuer, "https://")
	ctx := map[string][]string{issuer + ":aud": claims.Audience, issuer + ":sub": {claims.Subject}}
	federated := []string{"arn:aws:iam::" + awsproto.AccountID + ":oidc-provider/" + issuer, issuer}
	if !allows(role.AssumeRolePolicyDocument, "sts:AssumeRoleWithWebIdentity", nil, ctx, federated...) {
		return nil, denied
	}
	creds, user := s.issue(role, in.RoleSessionName, d)
	aud := ""
	if len(claims.Audience) > 0 {
		aud = claims.Audience[0]
	}
	return webIdentityResult{
		Credentials: creds, AssumedRoleUser: user, PackedPolicySize: packedSize(in.Policy, 0),
		SubjectFromWebIdentityToken: claims.Subject, Provider: issuer, Audience: aud,
	}, nil
}

// packedSize is a rough stand-in for STS's packed policy size percentage.
func packedSize(policy string, tags int) int {
	return min(100, (len(policy)*100)/2048+tags*2)
}

// issue mints a session of role and remembers it.
func (s *Service) issue(role *Role, name string, d time.Duration) (credentialsXML, assumedRoleUserXML) {
	key := "ASIA" + randomID(16)
	secretBytes := make([]byte, 30)
	tokenBytes := make([]byte, 96)
	_, _ = rand.Read(secretBytes)
	_, _ = rand.Read(tokenBytes)
	sess := &session{
		principal: Principal{
			Arn:     "arn:aws:sts::" + awsproto.AccountID + ":assumed-role/" + role.Name + "/" + name,
			UserID:  role.ID + ":" + name,
			RoleArn: role.Arn,
		},
		secret: base64.StdEncoding.EncodeToString(secretBytes),
		token:  sessionTokenPrefix + base64.StdEncoding.EncodeToString(tokenBytes),
	}
	s.mu.Lock()
	sess.expires = s.now().Add(d).UTC().Truncate(time.Second)
	s.sessions[key] = sess
	s.mu.Unlock()
	return credentialsXML{
			AccessKeyID: key, SecretAccessKey: sess.secret, SessionToken: sess.token,
			Expiration: sess.expires.Format(time.RFC3339),
		}, assumedRoleUserXML{
			Arn: sess.principal.Arn, AssumedRoleID: sess.principal.UserID,
		}
}

// SetClock replaces the clock sessions expire by, for tests.
func (s *Service) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = now
}

func (s *Service) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

type jwtClaims struct {
	Issuer   string
	Subject  string
	Audience []string
}

// parseJWT reads a token's claims. The signature is NOT verified: the
// emulator has no identity provider's keys.
func parseJWT(token string, now time.Time) (jwtClaims, *awsproto.Error) {
	bad := &awsproto.Error{Status: http.StatusBadRequest, Code: "InvalidIdentityToken", Message: "The web identity token is not a valid JWT (header.payload.signature, base64url)."}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return jwtClaims{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return jwtClaims{}, bad
	}
	var c struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp *float64        `json:"exp"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return jwtClaims{}, bad
	}
	if c.Iss == "" {
		return jwtClaims{}, &awsproto.Error{Status: http.StatusBadRequest, Code: "InvalidIdentityToken", Message: "The web identity token has no iss claim."}
	}
	if c.Exp != nil && !now.Before(time.Unix(int64(*c.Exp), 0)) {
		return jwtClaims{}, &awsproto.Error{Status: http.StatusBadRequest, Code: "ExpiredTokenException", Message: "Token expired: current date/time " + now.UTC().Format(time.RFC3339) + " must be before the expiration date/time " + time.Unix(int64(*c.Exp), 0).UTC().Format(time.RFC3339)}
	}
	return jwtClaims{Issuer: c.Iss, Subject: c.Sub, Audience: stringOrList(c.Aud)}, nil
}

// SessionSecrets are the secret keys and session tokens of every session
// issued so far, for tests that check no secret leaks into output or logs.
func (s *Service) SessionSecrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, sess := range s.sessions {
		out = append(out, sess.secret, sess.token)
	}
	return out
}
