package logs

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

// TargetPrefix is what CloudWatch Logs' X-Amz-Target starts with.
const TargetPrefix = "Logs_20140328."

// RetentionDays are the values PutRetentionPolicy accepts.
var RetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// newAPI is CloudWatch Logs' table of operations, each matched by
// X-Amz-Target (TargetPrefix + Name), its input the JSON body. A new call
// is a row here plus its handler.
func (s *Service) newAPI() *awsproto.API {
	return &awsproto.API{
		Name:         "logs",
		Protocol:     awsproto.AWSJSON11,
		SigningNames: []string{"logs"},
		TargetPrefix: TargetPrefix,
		Operations: []awsproto.Operation{
			{Name: "CreateLogGroup", Handler: awsproto.Handle(s.createLogGroup)},
			{Name: "DeleteLogGroup", Handler: awsproto.Handle(s.deleteLogGroup)},
			{Name: "DescribeLogGroups", Handler: awsproto.Handle(s.describeLogGroups)},
			{Name: "PutRetentionPolicy", Handler: awsproto.Handle(s.putRetentionPolicy)},
			{Name: "DeleteRetentionPolicy", Handler: awsproto.Handle(s.deleteRetentionPolicy)},
			{Name: "TagResource", Handler: awsproto.Handle(s.tagResource)},
			{Name: "UntagResource", Handler: awsproto.Handle(s.untagResource)},
			{Name: "ListTagsForResource", Handler: awsproto.Handle(s.listTagsForResource)},
			{Name: "CreateLogStream", Handler: awsproto.Handle(s.createLogStream)},
			{Name: "DescribeLogStreams", Handler: awsproto.Handle(s.describeLogStreams)},
			{Name: "PutLogEvents", Handler: awsproto.Handle(s.putLogEvents)},
			{Name: "GetLogEvents", Handler: awsproto.Handle(s.getLogEvents)},
			{Name: "FilterLogEvents", Handler: awsproto.Handle(s.filterLogEvents)},
		},
		Unknown: func(asked string) *awsproto.Error {
			return awsproto.Errorf(http.StatusBadRequest, "UnknownOperationException", "The operation %s is not supported by the emulated CloudWatch Logs", asked)
		},
		Throttle: &awsproto.Error{Status: http.StatusBadRequest, Code: "ThrottlingException", Message: "Rate exceeded"},
		Failure:  &awsproto.Error{Status: http.StatusInternalServerError, Code: "ServiceUnavailableException", Message: "The service cannot complete the request."},
	}
}

// CloudWatch Logs' errors, worded as it words them.

func errNotFound(what string) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "ResourceNotFoundException", "The specified %s does not exist.", what)
}

func errExists(what string) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "ResourceAlreadyExistsException", "The specified %s already exists", what)
}

func errInvalid(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidParameterException", format, args...)
}

var (
	groupNamePattern  = `[\.\-_/#A-Za-z0-9]+`
	groupNameRE       = regexp.MustCompile(`^` + groupNamePattern + `$`)
	streamNamePattern = `[^:*]*`
	streamNameRE      = regexp.MustCompile(`^` + streamNamePattern + `$`)
)

//nolint:unparam // field names the input member, as in the service's other checks
func checkGroupName(v *awsproto.Validation, field string, name *string) {
	if name == nil {
		v.Add(nil, field, "Member must not be null")
		return
	}
	v.Length(name, field, 1, 512)
	if *name != "" && !groupNameRE.MatchString(*name) {
		v.Add(*name, field, "Member must satisfy regular expression pattern: "+groupNamePattern)
	}
}

// groupRef is a log group named by logGroupName or logGroupIdentifier (a
// name or an ARN), as the reading calls take it.
func (s *Service) groupRef(name, identifier *string) (string, *awsproto.Error) {
	switch {
	case name != nil && identifier != nil:
		return "", errInvalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case name != nil:
		var v awsproto.Validation
		checkGroupName(&v, "logGroupName", name)
		return *name, v.Err()
	case identifier != nil:
		id := strings.TrimSuffix(*identifier, ":*")
		if rest, ok := strings.CutPrefix(id, "arn:"); ok {
			_, n, found := strings.Cut(rest, ":log-group:")
			if !found {
				return "", errInvalid("Invalid log group identifier: %s", *identifier)
			}
			return n, nil
		}
		return id, nil
	}
	return "", errInvalid("Either LogGroup name or LogGroup ARN must be specified.")
}

// lookupLocked finds a group. Holds s.mu.
func (s *Service) lookupLocked(name string) (*group, *awsproto.Error) {
	g, ok := s.groups[name]
	if !ok {
		return nil, errNotFound("log group")
	}
	return g, nil
}

func checkTags(tags map[string]string) *awsproto.Error {
	var v awsproto.Validation
	if len(tags) > 50 {
		v.Add(len(tags), "tags", "Member must have length less than or equal to 50")
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if len(k) < 1 || len(k) > 128 {
			v.Add(k, "tags", "Map keys must satisfy constraint: [Member must have length less than or equal to 128]")
		}
		if len(tags[k]) > 256 {
			v.Add(tags[k], "tags", "Map value must satisfy constraint: [Member must have length less than or equal to 256]")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return errInvalid("Tag keys may not start with aws: %s", k)
		}
	}
	return v.Err()
}

type createGroupInput struct {
	LogGroupName  *string           `json:"logGroupName"`
	KmsKeyID      *string           `json:"kmsKeyId"`
	Tags          map[string]string `json:"tags"`
	LogGroupClass *string           `json:"logGroupClass"`
}

func (s *Service) createLogGroup(_ *awsproto.Call, in *createGroupInput) (any, error) {
	var v awsproto.Validation
	checkGroupName(&v, "logGroupName", in.LogGroupName)
	v.Enum(in.LogGroupClass, "logGroupClass", "STANDARD", "INFREQUENT_ACCESS", "DELIVERY")
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := checkTags(in.Tags); e != nil {
		return nil, e
	}
	if in.KmsKeyID != nil && !strings.HasPrefix(*in.KmsKeyID, "arn:") {
		return nil, errInvalid("Specified KMS key must be an ARN: %s", *in.KmsKeyID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.groups[*in.LogGroupName]; ok {
		return nil, errExists("log group")
	}
	g := &group{Name: *in.LogGroupName, Created: s.opts.Now().UnixMilli(), Class: "STANDARD", Tags: in.Tags, Streams: map[string]*stream{}}
	if in.KmsKeyID != nil {
		g.KMSKeyID = *in.KmsKeyID
	}
	if in.LogGroupClass != nil {
		g.Class = *in.LogGroupClass
	}
	s.groups[g.Name] = g
	s.save()
	return nil, nil
}

type groupInput struct {
	LogGroupName *string `json:"logGroupName"`
}

func (s *Service) deleteLogGroup(_ *awsproto.Call, in *groupInput) (any, error) {
	var v awsproto.Validation
	checkGroupName(&v, "logGroupName", in.LogGroupName)
	if e := v.Err(); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e := s.lookupLocked(*in.LogGroupName); e != nil {
		return nil, e
	}
	delete(s.groups, *in.LogGroupName)
	s.save()
	return nil, nil
}

type describeGroupsInput struct {
	LogGroupNamePrefix  *string `json:"logGroupNamePrefix"`
	LogGroupNamePattern *string `json:"logGroupNamePattern"`
	Limit               *int    `json:"limit"`
	NextToken           *string `json:"nextToken"`
}

type logGroupOut struct {
	LogGroupName      string `json:"logGroupName"`
	CreationTime      int64  `json:"creationTime"`
	RetentionInDays   *int   `json:"retentionInDays,omitempty"`
	MetricFilterCount int    `json:"metricFilterCount"`
	Arn               string `json:"arn"`
	LogGroupArn       string `json:"logGroupArn"`
	StoredBytes       int64  `json:"storedBytes"`
	KmsKeyID          string `json:"kmsKeyId,omitempty"`
	LogGroupClass     string `json:"logGroupClass"`
}

func (s *Service) describeLogGroups(_ *awsproto.Call, in *describeGroupsInput) (any, error) {
	var v awsproto.Validation
	v.Between(in.Limit, "limit", 1, 50)
	if in.LogGroupNamePrefix != nil && in.LogGroupNamePattern != nil {
		return nil, errInvalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	if e := v.Err(); e != nil {
		return nil, e
	}
	size, after, e := readToken(in.Limit, 50, in.NextToken)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n := range s.groups {
		switch {
		case in.LogGroupNamePrefix != nil && !strings.HasPrefix(n, *in.LogGroupNamePrefix):
		case in.LogGroupNamePattern != nil && !strings.Contains(strings.ToLower(n), strings.ToLower(*in.LogGroupNamePattern)):
		case n <= after:
		default:
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := struct {
		LogGroups []logGroupOut `json:"logGroups"`
		NextToken *string       `json:"nextToken,omitempty"`
	}{LogGroups: []logGroupOut{}}
	for i, n := range names {
		if i == size {
			out.NextToken = token(names[i-1])
			break
		}
		g := s.groups[n]
		out.LogGroups = append(out.LogGroups, logGroupOut{
			LogGroupName: g.Name, CreationTime: g.Created, RetentionInDays: g.Retention,
			Arn: s.groupARN(g.Name) + ":*", LogGroupArn: s.groupARN(g.Name), StoredBytes: g.storedBytes(),
			KmsKeyID: g.KMSKeyID, LogGroupClass: g.Class,
		})
	}
	return out, nil
}

func (g *group) storedBytes() int64 {
	var n int64
	for _, st := range g.Streams {
		n += st.storedBytes()
	}
	return n
}

func (st *stream) storedBytes() int64 {
	var n int64
	for _, ev := range st.Events {
		n += int64(len(ev.Message))
	}
	return n
}

type retentionInput struct {
	LogGroupName    *string `json:"logGroupName"`
	RetentionInDays *int    `json:"retentionInDays"`
}

func (s *Service) putRetentionPolicy(_ *awsproto.Call, in *retentionInput) (any, error) {
	var v awsproto.Validation
	checkGroupName(&v, "logGroupName", in.LogGroupName)
	if in.RetentionInDays == nil {
		v.Add(nil, "retentionInDays", "Member must not be null")
	} else if !slices.Contains(RetentionDays, *in.RetentionInDays) {
		allowed := make([]string, len(RetentionDays))
		for i, d := range RetentionDays {
			allowed[i] = strconv.Itoa(d)
		}
		v.Add(*in.RetentionInDays, "retentionInDays", "Member must satisfy enum value set: ["+strings.Join(allowed, ", ")+"]")
	}
	if e := v.Err(); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.lookupLocked(*in.LogGroupName)
	if e != nil {
		return nil, e
	}
	d := *in.RetentionInDays
	g.Retention = &d
	s.save()
	return nil, nil
}

func (s *Service) deleteRetentionPolicy(_ *awsproto.Call, in *groupInput) (any, error) {
	var v awsproto.Validation
	checkGroupName(&v, "logGroupName", in.LogGroupName)
	if e := v.Err(); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.lookupLocked(*in.LogGroupName)
	if e != nil {
		return nil, e
	}
	g.Retention = nil
	s.save()
	return nil, nil
}

// groupByARN finds the group a tagging call names by its ARN (with or
// without the trailing :*).
func (s *Service) groupByARN(arn *string) (*group, *awsproto.Error) {
	if arn == nil {
		var v awsproto.Validation
		v.Add(nil, "resourceArn", "Member must not be null")
		return nil, v.Err()
	}
	prefix := fmt.Sprintf("arn:aws:logs:%s:%s:log-group:", s.opts.Region, awsproto.AccountID)
	name, ok := strings.CutPrefix(strings.TrimSuffix(*arn, ":*"), prefix)
	if !ok {
		if strings.HasPrefix(*arn, "arn:") && strings.Contains(*arn, ":log-group:") {
			return nil, errNotFound("resource")
		}
		return nil, errInvalid("Invalid resource arn: %s", *arn)
	}
	g, ok := s.groups[name]
	if !ok {
		return nil, errNotFound("resource")
	}
	return g, nil
}

type tagInput struct {
	ResourceArn *string           `json:"resourceArn"`
	Tags        map[string]string `json:"tags"`
	TagKeys     []string          `json:"tagKeys"`
}

func (s *Service) tagResource(_ *awsproto.Call, in *tagInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.groupByARN(in.ResourceArn)
	if e != nil {
		return nil, e
	}
	merged := maps.Clone(g.Tags)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, in.Tags)
	if e := checkTags(merged); e != nil {
		return nil, e
	}
	g.Tags = merged
	s.save()
	return nil, nil
}

func (s *Service) untagResource(_ *awsproto.Call, in *tagInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.groupByARN(in.ResourceArn)
	if e != nil {
		return nil, e
	}
	for _, k := range in.TagKeys {
		delete(g.Tags, k)
	}
	s.save()
	return nil, nil
}

func (s *Service) listTagsForResource(_ *awsproto.Call, in *tagInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.groupByARN(in.ResourceArn)
	if e != nil {
		return nil, e
	}
	tags := maps.Clone(g.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{"tags": tags}, nil
}

type streamInput struct {
	LogGroupName  *string `json:"logGroupName"`
	LogStreamName *string `json:"logStreamName"`
}

func checkStreamName(v *awsproto.Validation, name *string) {
	if name == nil {
		v.Add(nil, "logStreamName", "Member must not be null")
		return
	}
	v.Length(name, "logStreamName", 1, 512)
	if !streamNameRE.MatchString(*name) {
		v.Add(*name, "logStreamName", "Member must satisfy regular expression pattern: "+streamNamePattern)
	}
}

func (s *Service) createLogStream(_ *awsproto.Call, in *streamInput) (any, error) {
	var v awsproto.Validation
	checkGroupName(&v, "logGroupName", in.LogGroupName)
	checkStreamName(&v, in.LogStreamName)
	if e := v.Err(); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.lookupLocked(*in.LogGroupName)
	if e != nil {
		return nil, e
	}
	if _, ok := g.Streams[*in.LogStreamName]; ok {
		return nil, errExists("log stream")
	}
	g.Streams[*in.LogStreamName] = &stream{Name: *in.LogStreamName, Created: s.opts.Now().UnixMilli()}
	s.save()
	return nil, nil
}

type putEventsInput struct {
	LogGroupName  *string `json:"logGroupName"`
	LogStreamName *string `json:"logStreamName"`
	LogEvents     []struct {
		Timestamp *int64  `json:"timestamp"`
		Message   *string `json:"message"`
	} `json:"logEvents"`
	SequenceToken *string `json:"sequenceToken"`
}

func (s *Service) putLogEvents(_ *awsproto.Call, in *putEventsInput) (any, error) {
	var v awsproto.Validation
	checkGroupName(&v, "logGroupName", in.LogGroupName)
	checkStreamName(&v, in.LogStreamName)
	if len(in.LogEvents) == 0 || len(in.LogEvents) > 10000 {
		v.Add(len(in.LogEvents), "logEvents", "Member must have length between 1 and 10000")
	}
	for _, ev := range in.LogEvents {
		if ev.Timestamp == nil || ev.Message == nil {
			v.Add(nil, "logEvents.member", "Member must have timestamp and message")
			break
		}
	}
	if e := v.Err(); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.lookupLocked(*in.LogGroupName)
	if e != nil {
		return nil, e
	}
	st, ok := g.Streams[*in.LogStreamName]
	if !ok {
		return nil, errNotFound("log stream")
	}
	now := s.opts.Now().UnixMilli()
	for _, ev := range in.LogEvents {
		st.Events = append(st.Events, Event{Timestamp: *ev.Timestamp, Message: *ev.Message, Ingestion: now})
	}
	sort.SliceStable(st.Events, func(i, j int) bool { return st.Events[i].Timestamp < st.Events[j].Timestamp })
	st.LastIngestion = now
	s.save()
	return map[string]any{}, nil
}

type describeStreamsInput struct {
	LogGroupName        *string `json:"logGroupName"`
	LogGroupIdentifier  *string `json:"logGroupIdentifier"`
	LogStreamNamePrefix *string `json:"logStreamNamePrefix"`
	OrderBy             *string `json:"orderBy"`
	Descending          bool    `json:"descending"`
	Limit               *int    `json:"limit"`
	NextToken           *string `json:"nextToken"`
}

type logStreamOut struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

func (s *Service) describeLogStreams(_ *awsproto.Call, in *describeStreamsInput) (any, error) {
	name, e := s.groupRef(in.LogGroupName, in.LogGroupIdentifier)
	if e != nil {
		return nil, e
	}
	var v awsproto.Validation
	v.Between(in.Limit, "limit", 1, 50)
	v.Enum(in.OrderBy, "orderBy", "LogStreamName", "LastEventTime")
	if e := v.Err(); e != nil {
		return nil, e
	}
	byTime := in.OrderBy != nil && *in.OrderBy == "LastEventTime"
	if byTime && in.LogStreamNamePrefix != nil {
		return nil, errInvalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	size, after, e := readToken(in.Limit, 50, in.NextToken)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.lookupLocked(name)
	if e != nil {
		return nil, e
	}
	type row struct {
		key string
		st  *stream
	}
	var rows []row
	for _, st := range g.Streams {
		if in.LogStreamNamePrefix != nil && !strings.HasPrefix(st.Name, *in.LogStreamNamePrefix) {
			continue
		}
		key := st.Name
		if byTime {
			key = fmt.Sprintf("%020d/%s", st.lastEvent(), st.Name)
		}
		rows = append(rows, row{key, st})
	}
	sort.Slice(rows, func(i, j int) bool {
		if in.Descending {
			return rows[i].key > rows[j].key
		}
		return rows[i].key < rows[j].key
	})
	out := struct {
		LogStreams []logStreamOut `json:"logStreams"`
		NextToken  *string        `json:"nextToken,omitempty"`
	}{LogStreams: []logStreamOut{}}
	for _, r := range rows {
		if after != "" && ((!in.Descending && r.key <= after) || (in.Descending && r.key >= after)) {
			continue
		}
		if len(out.LogStreams) == size {
			out.NextToken = token(after)
			break
		}
		st := r.st
		o := logStreamOut{LogStreamName: st.Name, CreationTime: st.Created, Arn: s.groupARN(g.Name) + ":log-stream:" + st.Name, StoredBytes: st.storedBytes()}
		if len(st.Events) > 0 {
			first, last, ing := st.Events[0].Timestamp, st.lastEvent(), st.LastIngestion
			o.FirstEventTimestamp, o.LastEventTimestamp, o.LastIngestionTime = &first, &last, &ing
		}
		out.LogStreams = append(out.LogStreams, o)
		after = r.key
	}
	return out, nil
}

func (st *stream) lastEvent() int64 {
	if len(st.Events) == 0 {
		return 0
	}
	return st.Events[len(st.Events)-1].Timestamp
}

type getEventsInput struct {
	LogGroupName       *string `json:"logGroupName"`
	LogGroupIdentifier *string `json:"logGroupIdentifier"`
	LogStreamName      *string `json:"logStreamName"`
	StartTime          *int64  `json:"startTime"`
	EndTime            *int64  `json:"endTime"`
	NextToken          *string `json:"nextToken"`
	Limit              *int    `json:"limit"`
	StartFromHead      *bool   `json:"startFromHead"`
	Unmask             bool    `json:"unmask"`
}

type eventOut struct {
	LogStreamName string `json:"logStreamName,omitempty"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId,omitempty"`
}

// getLogEvents pages through one stream. Tokens are f/<index> (the next
// page starts there) and b/<index> (the page before ends there); at either
// end the same token comes back, which is how callers know to stop, as on
// AWS.
func (s *Service) getLogEvents(_ *awsproto.Call, in *getEventsInput) (any, error) {
	name, e := s.groupRef(in.LogGroupName, in.LogGroupIdentifier)
	if e != nil {
		return nil, e
	}
	var v awsproto.Validation
	checkStreamName(&v, in.LogStreamName)
	v.Between(in.Limit, "limit", 1, 10000)
	if e := v.Err(); e != nil {
		return nil, e
	}
	limit := 10000
	if in.Limit != nil {
		limit = *in.Limit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.lookupLocked(name)
	if e != nil {
		return nil, e
	}
	st, ok := g.Streams[*in.LogStreamName]
	if !ok {
		return nil, errNotFound("log stream")
	}
	var evs []Event
	for _, ev := range st.Events {
		if (in.StartTime == nil || ev.Timestamp >= *in.StartTime) && (in.EndTime == nil || ev.Timestamp < *in.EndTime) {
			evs = append(evs, ev)
		}
	}
	// [lo, hi) is the page.
	var lo, hi int
	switch {
	case in.NextToken != nil:
		dir, idx, ok := parseEventToken(*in.NextToken)
		if !ok || idx > len(evs) {
			return nil, errInvalid("The specified nextToken is invalid.")
		}
		if dir == 'f' {
			lo, hi = idx, min(idx+limit, len(evs))
		} else {
			lo, hi = max(idx-limit, 0), idx
		}
	case in.StartFromHead != nil && *in.StartFromHead:
		lo, hi = 0, min(limit, len(evs))
	default:
		lo, hi = max(len(evs)-limit, 0), len(evs)
	}
	out := struct {
		Events            []eventOut `json:"events"`
		NextForwardToken  string     `json:"nextForwardToken"`
		NextBackwardToken string     `json:"nextBackwardToken"`
	}{Events: []eventOut{}, NextForwardToken: fmt.Sprintf("f/%036d", hi), NextBackwardToken: fmt.Sprintf("b/%036d", lo)}
	for _, ev := range evs[lo:hi] {
		out.Events = append(out.Events, eventOut{Timestamp: ev.Timestamp, Message: ev.Message, IngestionTime: ev.Ingestion})
	}
	return out, nil
}

func parseEventToken(t string) (dir byte, idx int, ok bool) {
	if len(t) < 3 || (t[0] != 'f' && t[0] != 'b') || t[1] != '/' {
		return 0, 0, false
	}
	n, err := strconv.Atoi(t[2:])
	if err != nil || n < 0 {
		return 0, 0, false
	}
	return t[0], n, true
}

type filterInput struct {
	LogGroupName        *string  `json:"logGroupName"`
	LogGroupIdentifier  *string  `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix *string  `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       *string  `json:"filterPattern"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int     `json:"limit"`
	Interleaved         *bool    `json:"interleaved"`
	Unmask              bool     `json:"unmask"`
}

// filterLogEvents searches a group's streams, events in time order (then
// stream, then position). The token is the event id to continue after.
func (s *Service) filterLogEvents(_ *awsproto.Call, in *filterInput) (any, error) {
	name, e := s.groupRef(in.LogGroupName, in.LogGroupIdentifier)
	if e != nil {
		return nil, e
	}
	var v awsproto.Validation
	v.Between(in.Limit, "limit", 1, 10000)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if in.LogStreamNames != nil && in.LogStreamNamePrefix != nil {
		return nil, errInvalid("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	match, e := compilePattern(in.FilterPattern)
	if e != nil {
		return nil, e
	}
	limit := 10000
	if in.Limit != nil {
		limit = *in.Limit
	}
	after := ""
	if in.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil {
			return nil, errInvalid("The specified nextToken is invalid.")
		}
		after = string(b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.lookupLocked(name)
	if e != nil {
		return nil, e
	}
	type searched struct {
		LogStreamName      string `json:"logStreamName"`
		SearchedCompletely bool   `json:"searchedCompletely"`
	}
	out := struct {
		Events             []eventOut `json:"events"`
		SearchedLogStreams []searched `json:"searchedLogStreams"`
		NextToken          *string    `json:"nextToken,omitempty"`
	}{Events: []eventOut{}, SearchedLogStreams: []searched{}}
	var all []eventOut
	for _, st := range g.Streams {
		if in.LogStreamNames != nil && !slices.Contains(in.LogStreamNames, st.Name) {
			continue
		}
		if in.LogStreamNamePrefix != nil && !strings.HasPrefix(st.Name, *in.LogStreamNamePrefix) {
			continue
		}
		out.SearchedLogStreams = append(out.SearchedLogStreams, searched{st.Name, true})
		for i, ev := range st.Events {
			if (in.StartTime != nil && ev.Timestamp < *in.StartTime) || (in.EndTime != nil && ev.Timestamp > *in.EndTime) || !match(ev.Message) {
				continue
			}
			id := fmt.Sprintf("%020d/%s/%010d", ev.Timestamp, st.Name, i)
			all = append(all, eventOut{LogStreamName: st.Name, Timestamp: ev.Timestamp, Message: ev.Message, IngestionTime: ev.Ingestion, EventID: id})
		}
	}
	sort.Slice(out.SearchedLogStreams, func(i, j int) bool {
		return out.SearchedLogStreams[i].LogStreamName < out.SearchedLogStreams[j].LogStreamName
	})
	sort.Slice(all, func(i, j int) bool { return all[i].EventID < all[j].EventID })
	for _, ev := range all {
		if ev.EventID <= after {
			continue
		}
		if len(out.Events) == limit {
			out.NextToken = token(out.Events[len(out.Events)-1].EventID)
			break
		}
		out.Events = append(out.Events, ev)
	}
	return out, nil
}

// compilePattern supports the empty pattern, space-separated terms that
// must all appear, and "quoted phrases", case-sensitively as CloudWatch
// matches terms. Anything else (JSON and metric patterns) is refused.
func compilePattern(p *string) (func(string) bool, *awsproto.Error) {
	if p == nil || strings.TrimSpace(*p) == "" {
		return func(string) bool { return true }, nil
	}
	if strings.ContainsAny(*p, "{}[]") {
		return nil, errInvalid("The emulator supports term and \"phrase\" filter patterns only, not %q", *p)
	}
	var terms []string
	rest := strings.TrimSpace(*p)
	for rest != "" {
		if rest[0] == '"' {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return nil, errInvalid("Invalid character(s) in term '%s'", rest)
			}
			terms = append(terms, rest[1:1+end])
			rest = strings.TrimSpace(rest[end+2:])
			continue
		}
		term, r, _ := strings.Cut(rest, " ")
		terms = append(terms, term)
		rest = strings.TrimSpace(r)
	}
	return func(msg string) bool {
		for _, t := range terms {
			if !strings.Contains(msg, t) {
				return false
			}
		}
		return true
	}, nil
}

func token(key string) *string {
	t := base64.RawURLEncoding.EncodeToString([]byte(key))
	return &t
}

// readToken reads a listing's page size and the key its page starts after.
func readToken(limit *int, def int, next *string) (int, string, *awsproto.Error) {
	size := def
	if limit != nil {
		size = *limit
	}
	if next == nil || *next == "" {
		return size, "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*next)
	if err != nil || !json.Valid([]byte(strconv.Quote(string(b)))) {
		return 0, "", errInvalid("The specified nextToken is invalid.")
	}
	return size, string(b), nil
}
