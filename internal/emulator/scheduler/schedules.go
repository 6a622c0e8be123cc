package scheduler

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/schedexpr"
)

// Patterns and bounds from Scheduler's Smithy model.
const (
	namePattern      = `^[0-9a-zA-Z-_.]+$`
	tokenPattern     = `^[a-zA-Z0-9-_]+$`
	rolePattern      = `^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@\/-]+$`
	dlqPattern       = `^arn:aws(-[a-z]+)?:sqs:[a-z0-9\-]+:\d{12}:[a-zA-Z0-9\-_]+$`
	kmsPattern       = `^arn:aws(-[a-z]+)?:kms:[a-z0-9\-]+:\d{12}:(key|alias)\/[0-9a-zA-Z-_]*$`
	defaultRetries   = 185
	defaultEventAge  = 86400
	defaultTimezone  = "UTC"
	defaultListLimit = 100
)

var (
	nameRE  = regexp.MustCompile(namePattern)
	tokenRE = regexp.MustCompile(tokenPattern)
	roleRE  = regexp.MustCompile(rolePattern)
	dlqRE   = regexp.MustCompile(dlqPattern)
	kmsRE   = regexp.MustCompile(kmsPattern)
)

// epoch is a restJson timestamp: seconds since the epoch, as a number.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)), nil
}

func (e *epoch) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	sec, frac := math.Modf(f)
	*e = epoch(time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC())
	return nil
}

func epochPtr(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

type flexibleTimeWindow struct {
	Mode                   *string `json:"Mode,omitempty"`
	MaximumWindowInMinutes *int    `json:"MaximumWindowInMinutes,omitempty"`
}

type retryPolicy struct {
	MaximumEventAgeInSeconds *int `json:"MaximumEventAgeInSeconds,omitempty"`
	MaximumRetryAttempts     *int `json:"MaximumRetryAttempts,omitempty"`
}

type deadLetterConfig struct {
	Arn *string `json:"Arn,omitempty"`
}

// target is a schedule's target as the API carries it. The templated
// targets' parameters are kept and returned as given.
type target struct {
	Arn                         *string           `json:"Arn,omitempty"`
	RoleArn                     *string           `json:"RoleArn,omitempty"`
	Input                       *string           `json:"Input,omitempty"`
	RetryPolicy                 *retryPolicy      `json:"RetryPolicy,omitempty"`
	DeadLetterConfig            *deadLetterConfig `json:"DeadLetterConfig,omitempty"`
	EcsParameters               json.RawMessage   `json:"EcsParameters,omitempty"`
	EventBridgeParameters       json.RawMessage   `json:"EventBridgeParameters,omitempty"`
	KinesisParameters           json.RawMessage   `json:"KinesisParameters,omitempty"`
	SageMakerPipelineParameters json.RawMessage   `json:"SageMakerPipelineParameters,omitempty"`
	SqsParameters               json.RawMessage   `json:"SqsParameters,omitempty"`
}

// schedule is one schedule, as kept and persisted.
type schedule struct {
	Name                  string             `json:"name"`
	Group                 string             `json:"group"`
	Description           string             `json:"description,omitempty"`
	Expression            string             `json:"expression"`
	Timezone              string             `json:"timezone"`
	StartDate             time.Time          `json:"start_date,omitzero"`
	EndDate               time.Time          `json:"end_date,omitzero"`
	State                 string             `json:"state"`
	FlexibleTimeWindow    flexibleTimeWindow `json:"flexible_time_window"`
	Target                target             `json:"target"`
	ActionAfterCompletion string             `json:"action_after_completion"`
	KmsKeyArn             string             `json:"kms_key_arn,omitempty"`
	Created               time.Time          `json:"created"`
	Modified              time.Time          `json:"modified"`
	// Anchor is a rate's first occurrence when there is no StartDate.
	Anchor time.Time `json:"anchor"`
	// Next is when the schedule fires next; zero once it never will.
	Next         time.Time `json:"next,omitzero"`
	ClientToken  string    `json:"client_token,omitempty"`
	LastDelivery *Delivery `json:"last_delivery,omitempty"`

	timing schedexpr.Timing
	gen    int // bumped by every change, so a late delivery can tell
}

func (sc *schedule) key() string { return sc.Group + "/" + sc.Name }

// compile reads the expression and time zone into the timing.
func (sc *schedule) compile() error {
	e, err := schedexpr.Parse(sc.Expression)
	if err != nil {
		return err
	}
	loc, err := loadZone(sc.Timezone)
	if err != nil {
		return err
	}
	sc.timing = schedexpr.Timing{Expr: e, Loc: loc, Start: sc.StartDate, End: sc.EndDate, Anchor: sc.Anchor}
	return nil
}

// loadZone reads an IANA time zone name; Local, the machine's zone, is
// not one.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return time.LoadLocation(name)
}

// scheduleInput is CreateSchedule's and UpdateSchedule's input.
type scheduleInput struct {
	Name                       string              `json:"-" http:"label=Name"`
	ActionAfterCompletion      *string             `json:"ActionAfterCompletion"`
	ClientToken                *string             `json:"ClientToken"`
	Description                *string             `json:"Description"`
	EndDate                    *epoch              `json:"EndDate"`
	FlexibleTimeWindow         *flexibleTimeWindow `json:"FlexibleTimeWindow"`
	GroupName                  *string             `json:"GroupName"`
	KmsKeyArn                  *string             `json:"KmsKeyArn"`
	ScheduleExpression         *string             `json:"ScheduleExpression"`
	ScheduleExpressionTimezone *string             `json:"ScheduleExpressionTimezone"`
	StartDate                  *epoch              `json:"StartDate"`
	State                      *string             `json:"State"`
	Target                     *target             `json:"Target"`
}

// check validates the input as AWS does and returns the schedule it
// describes, not yet placed in a group.
func (s *Service) check(in *scheduleInput) (*schedule, *awsproto.Error) {
	var v validation
	name := in.Name
	v.name(&name, "name")
	v.name(in.GroupName, "groupName")
	v.Length(in.ClientToken, "clientToken", 1, 64)
	if in.ClientToken != nil && *in.ClientToken != "" && !tokenRE.MatchString(*in.ClientToken) {
		v.Add(*in.ClientToken, "clientToken", "Member must satisfy regular expression pattern: "+tokenPattern)
	}
	v.Length(in.Description, "description", 0, 512)
	if in.ScheduleExpression == nil {
		v.Add(nil, "scheduleExpression", "Member must not be null")
	}
	v.Length(in.ScheduleExpression, "scheduleExpression", 1, 256)
	v.Length(in.ScheduleExpressionTimezone, "scheduleExpressionTimezone", 1, 50)
	v.Enum(in.State, "state", "ENABLED", "DISABLED")
	v.Enum(in.ActionAfterCompletion, "actionAfterCompletion", "NONE", "DELETE")
	v.Length(in.KmsKeyArn, "kmsKeyArn", 1, 2048)
	if in.KmsKeyArn != nil && !kmsRE.MatchString(*in.KmsKeyArn) {
		v.Add(*in.KmsKeyArn, "kmsKeyArn", "Member must satisfy regular expression pattern: "+kmsPattern)
	}
	if in.FlexibleTimeWindow == nil {
		v.Add(nil, "flexibleTimeWindow", "Member must not be null")
	} else {
		w := in.FlexibleTimeWindow
		if w.Mode == nil {
			v.Add(nil, "flexibleTimeWindow.mode", "Member must not be null")
		}
		v.Enum(w.Mode, "flexibleTimeWindow.mode", "OFF", "FLEXIBLE")
		v.Between(w.MaximumWindowInMinutes, "flexibleTimeWindow.maximumWindowInMinutes", 1, 1440)
	}
	if in.Target == nil {
		v.Add(nil, "target", "Member must not be null")
	} else {
		tg := in.Target
		if tg.Arn == nil {
			v.Add(nil, "target.arn", "Member must not be null")
		}
		v.Length(tg.Arn, "target.arn", 1, 1600)
		if tg.RoleArn == nil {
			v.Add(nil, "target.roleArn", "Member must not be null")
		}
		v.Length(tg.RoleArn, "target.roleArn", 1, 1600)
		if tg.RoleArn != nil && *tg.RoleArn != "" && !roleRE.MatchString(*tg.RoleArn) {
			v.Add(*tg.RoleArn, "target.roleArn", "Member must satisfy regular expression pattern: "+rolePattern)
		}
		v.Length(tg.Input, "target.input", 1, 0)
		if rp := tg.RetryPolicy; rp != nil {
			v.Between(rp.MaximumEventAgeInSeconds, "target.retryPolicy.maximumEventAgeInSeconds", 60, 86400)
			v.Between(rp.MaximumRetryAttempts, "target.retryPolicy.maximumRetryAttempts", 0, 185)
		}
		if dl := tg.DeadLetterConfig; dl != nil && dl.Arn != nil && !dlqRE.MatchString(*dl.Arn) {
			v.Add(*dl.Arn, "target.deadLetterConfig.arn", "Member must satisfy regular expression pattern: "+dlqPattern)
		}
	}
	if e := v.Err(); e != nil {
		return nil, e
	}

	sc := &schedule{
		Name:                  name,
		Group:                 deref(in.GroupName, defaultGroup),
		Description:           deref(in.Description, ""),
		Expression:            *in.ScheduleExpression,
		Timezone:              deref(in.ScheduleExpressionTimezone, defaultTimezone),
		State:                 deref(in.State, "ENABLED"),
		FlexibleTimeWindow:    *in.FlexibleTimeWindow,
		Target:                *in.Target,
		ActionAfterCompletion: deref(in.ActionAfterCompletion, "NONE"),
		KmsKeyArn:             deref(in.KmsKeyArn, ""),
		ClientToken:           deref(in.ClientToken, ""),
	}
	if in.StartDate != nil {
		sc.StartDate = time.Time(*in.StartDate)
	}
	if in.EndDate != nil {
		sc.EndDate = time.Time(*in.EndDate)
	}
	expr, err := schedexpr.Parse(sc.Expression)
	if err != nil {
		return nil, invalid("Invalid Schedule Expression %s: %v.", sc.Expression, err)
	}
	if _, err := loadZone(sc.Timezone); err != nil {
		return nil, invalid("Invalid ScheduleExpressionTimezone %s: not a time zone of the IANA database; use a name such as UTC or America/New_York.", sc.Timezone)
	}
	if w := sc.FlexibleTimeWindow; *w.Mode == "FLEXIBLE" && w.MaximumWindowInMinutes == nil {
		return nil, invalid("MaximumWindowInMinutes is required when the FlexibleTimeWindow Mode is FLEXIBLE.")
	}
	if !expr.OneTime() && !sc.StartDate.IsZero() && !sc.EndDate.IsZero() && !sc.EndDate.After(sc.StartDate) {
		return nil, invalid("The EndDate %s must be after the StartDate %s.", sc.EndDate.Format(time.RFC3339), sc.StartDate.Format(time.RFC3339))
	}
	// Templated Lambda and Step Functions targets take JSON, as the Target
	// reference says.
	if in := sc.Target.Input; in != nil && templatedJSON(*sc.Target.Arn) && !json.Valid([]byte(*in)) {
		return nil, invalid("The Input of a %s target must be well-formed JSON.", arnService(*sc.Target.Arn))
	}
	if sc.Target.RetryPolicy == nil {
		sc.Target.RetryPolicy = &retryPolicy{}
	}
	if sc.Target.RetryPolicy.MaximumEventAgeInSeconds == nil {
		sc.Target.RetryPolicy.MaximumEventAgeInSeconds = ptr(defaultEventAge)
	}
	if sc.Target.RetryPolicy.MaximumRetryAttempts == nil {
		sc.Target.RetryPolicy.MaximumRetryAttempts = ptr(defaultRetries)
	}
	return sc, nil
}

// arnService is the service part of an ARN: lambda, states, sqs...
func arnService(arn string) string {
	parts := strings.SplitN(arn, ":", 4)
	if len(parts) < 4 || parts[0] != "arn" {
		return ""
	}
	return parts[2]
}

func templatedJSON(arn string) bool {
	switch arnService(arn) {
	case "lambda", "states", "events":
		return true
	}
	return false
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

type arnOutput struct {
	ScheduleArn string `json:"ScheduleArn"`
}

func (s *Service) createSchedule(_ *awsproto.Call, in *scheduleInput) (any, error) {
	sc, e := s.check(in)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.groups[sc.Group]; !ok {
		return nil, groupNotFound(sc.Group)
	}
	if old, ok := s.schedules[sc.key()]; ok {
		// A retry of the same request, by its idempotency token, succeeds.
		if sc.ClientToken != "" && old.ClientToken == sc.ClientToken {
			return arnOutput{s.scheduleARN(old.Group, old.Name)}, nil
		}
		return nil, conflict("Schedule %s already exists.", sc.Name)
	}
	now := s.clock.Now()
	sc.Created, sc.Modified, sc.Anchor = now, now, now
	s.place(sc, now)
	s.schedules[sc.key()] = sc
	s.saveLocked()
	s.poke()
	return arnOutput{s.scheduleARN(sc.Group, sc.Name)}, nil
}

// place compiles sc and sets its next fire time: the first at or after now
// (a rate without a StartDate fires at once). Holds s.mu.
func (s *Service) place(sc *schedule, now time.Time) {
	_ = sc.compile() // checked by check
	sc.gen++
	if n, ok := sc.timing.Next(now.Add(-time.Nanosecond)); ok {
		sc.Next = n
	} else {
		sc.Next = time.Time{}
	}
}

func (s *Service) updateSchedule(_ *awsproto.Call, in *scheduleInput) (any, error) {
	sc, e := s.check(in)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.schedules[sc.key()]
	if !ok {
		return nil, scheduleNotFound(sc.Name)
	}
	now := s.clock.Now()
	// UpdateSchedule replaces the whole schedule; what it was made with
	// stays.
	sc.Created, sc.ClientToken, sc.LastDelivery, sc.gen = old.Created, old.ClientToken, old.LastDelivery, old.gen
	sc.Modified = now
	sc.Anchor = old.Anchor
	if sc.Expression != old.Expression || !sc.StartDate.Equal(old.StartDate) {
		sc.Anchor = now
	}
	s.place(sc, now)
	s.schedules[sc.key()] = sc
	s.saveLocked()
	s.poke()
	return arnOutput{s.scheduleARN(sc.Group, sc.Name)}, nil
}

type getScheduleInput struct {
	Name      string `http:"label=Name"`
	GroupName string `http:"query=groupName"`
}

type scheduleOutput struct {
	ActionAfterCompletion      string             `json:"ActionAfterCompletion"`
	Arn                        string             `json:"Arn"`
	CreationDate               *epoch             `json:"CreationDate,omitempty"`
	Description                string             `json:"Description,omitempty"`
	EndDate                    *epoch             `json:"EndDate,omitempty"`
	FlexibleTimeWindow         flexibleTimeWindow `json:"FlexibleTimeWindow"`
	GroupName                  string             `json:"GroupName"`
	KmsKeyArn                  string             `json:"KmsKeyArn,omitempty"`
	LastModificationDate       *epoch             `json:"LastModificationDate,omitempty"`
	Name                       string             `json:"Name"`
	ScheduleExpression         string             `json:"ScheduleExpression"`
	ScheduleExpressionTimezone string             `json:"ScheduleExpressionTimezone"`
	StartDate                  *epoch             `json:"StartDate,omitempty"`
	State                      string             `json:"State"`
	Target                     target             `json:"Target"`
}

func (s *Service) getSchedule(_ *awsproto.Call, in *getScheduleInput) (any, error) {
	sc, e := s.lookup(in.Name, in.GroupName)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return scheduleOutput{
		ActionAfterCompletion:      sc.ActionAfterCompletion,
		Arn:                        s.scheduleARN(sc.Group, sc.Name),
		CreationDate:               epochPtr(sc.Created),
		Description:                sc.Description,
		EndDate:                    epochPtr(sc.EndDate),
		FlexibleTimeWindow:         sc.FlexibleTimeWindow,
		GroupName:                  sc.Group,
		KmsKeyArn:                  sc.KmsKeyArn,
		LastModificationDate:       epochPtr(sc.Modified),
		Name:                       sc.Name,
		ScheduleExpression:         sc.Expression,
		ScheduleExpressionTimezone: sc.Timezone,
		StartDate:                  epochPtr(sc.StartDate),
		State:                      sc.State,
		Target:                     sc.Target,
	}, nil
}

// lookup validates a schedule's name and group and finds it.
func (s *Service) lookup(name, groupName string) (*schedule, *awsproto.Error) {
	var v validation
	v.name(&name, "name")
	var gp *string
	if groupName != "" {
		gp = &groupName
	}
	v.name(gp, "groupName")
	if e := v.Err(); e != nil {
		return nil, e
	}
	if groupName == "" {
		groupName = defaultGroup
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.schedules[groupName+"/"+name]
	if !ok {
		return nil, scheduleNotFound(name)
	}
	return sc, nil
}

type deleteScheduleInput struct {
	Name        string `http:"label=Name"`
	GroupName   string `http:"query=groupName"`
	ClientToken string `http:"query=clientToken"`
}

func (s *Service) deleteSchedule(_ *awsproto.Call, in *deleteScheduleInput) (any, error) {
	group := in.GroupName
	if group == "" {
		group = defaultGroup
	}
	token := group + "/" + in.Name + "?" + in.ClientToken
	sc, e := s.lookup(in.Name, in.GroupName)
	if e != nil {
		s.mu.Lock()
		done := in.ClientToken != "" && s.deleted[token]
		s.mu.Unlock()
		if done && e.Status == 404 {
			return nil, nil // a retry of a delete that succeeded
		}
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.schedules[sc.key()] == sc {
		delete(s.schedules, sc.key())
	}
	if in.ClientToken != "" {
		s.deleted[token] = true
	}
	s.saveLocked()
	s.poke()
	return nil, nil
}

type listSchedulesInput struct {
	GroupName  string `http:"query=ScheduleGroup"`
	MaxResults string `http:"query=MaxResults"`
	NamePrefix string `http:"query=NamePrefix"`
	NextToken  string `http:"query=NextToken"`
	State      string `http:"query=State"`
}

type targetSummary struct {
	Arn string `json:"Arn"`
}

type scheduleSummary struct {
	Arn                  string        `json:"Arn"`
	CreationDate         *epoch        `json:"CreationDate,omitempty"`
	GroupName            string        `json:"GroupName"`
	LastModificationDate *epoch        `json:"LastModificationDate,omitempty"`
	Name                 string        `json:"Name"`
	State                string        `json:"State"`
	Target               targetSummary `json:"Target"`
}

type listSchedulesOutput struct {
	NextToken *string           `json:"NextToken,omitempty"`
	Schedules []scheduleSummary `json:"Schedules"`
}

func (s *Service) listSchedules(_ *awsproto.Call, in *listSchedulesInput) (any, error) {
	var v validation
	limit := v.maxResults(in.MaxResults)
	if in.NamePrefix != "" {
		v.name(&in.NamePrefix, "namePrefix")
	}
	if in.GroupName != "" {
		v.name(&in.GroupName, "groupName")
	}
	if in.State != "" {
		v.Enum(&in.State, "state", "ENABLED", "DISABLED")
	}
	if e := v.Err(); e != nil {
		return nil, e
	}
	after, e := readToken(in.NextToken)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.GroupName != "" {
		if _, ok := s.groups[in.GroupName]; !ok {
			return nil, groupNotFound(in.GroupName)
		}
	}
	var keys []string
	for k, sc := range s.schedules {
		if (in.GroupName == "" || sc.Group == in.GroupName) && strings.HasPrefix(sc.Name, in.NamePrefix) && (in.State == "" || sc.State == in.State) && k > after {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := listSchedulesOutput{Schedules: []scheduleSummary{}}
	if len(keys) > limit {
		keys = keys[:limit]
		out.NextToken = ptr(makeToken(keys[limit-1]))
	}
	for _, k := range keys {
		sc := s.schedules[k]
		out.Schedules = append(out.Schedules, scheduleSummary{
			Arn: s.scheduleARN(sc.Group, sc.Name), CreationDate: epochPtr(sc.Created), GroupName: sc.Group,
			LastModificationDate: epochPtr(sc.Modified), Name: sc.Name, State: sc.State, Target: targetSummary{Arn: deref(sc.Target.Arn, "")},
		})
	}
	return out, nil
}

// maxResults reads MaxResults, 1 to 100; 100 when absent.
func (v *validation) maxResults(text string) int {
	if text == "" {
		return defaultListLimit
	}
	n, err := strconv.Atoi(text)
	if err != nil {
		v.Add(text, "maxResults", "Member must be a number")
		return defaultListLimit
	}
	v.Between(&n, "maxResults", 1, 100)
	return n
}

// Page tokens are the last key listed, opaque to clients.
func makeToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte("v1:" + key)) }

func readToken(tok string) (string, *awsproto.Error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	key, ok := strings.CutPrefix(string(b), "v1:")
	if err != nil || !ok {
		return "", invalid("Invalid NextToken %q: pass the NextToken of the previous page unchanged.", tok)
	}
	return key, nil
}
