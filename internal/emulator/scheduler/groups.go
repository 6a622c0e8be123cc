package scheduler

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

// group is a schedule group. default always exists and cannot be deleted;
// only groups take tags.
type group struct {
	Name        string            `json:"name"`
	Created     time.Time         `json:"created"`
	Modified    time.Time         `json:"modified"`
	Tags        map[string]string `json:"tags,omitempty"`
	ClientToken string            `json:"client_token,omitempty"`
}

type tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

const groupARNPattern = `^arn:aws(-[a-z]+)?:scheduler:[a-z0-9\-]+:\d{12}:schedule-group\/[0-9a-zA-Z-_.]+$`

var groupARNRE = regexp.MustCompile(groupARNPattern)

// tags checks a TagList: at most 200, keys 1-128 and values 1-256 long.
func (v *validation) tags(tags []tag, field string) map[string]string {
	if len(tags) > 200 {
		v.Add(len(tags), field, "Member must have length less than or equal to 200")
	}
	out := map[string]string{}
	for i, t := range tags {
		f := fmt.Sprintf("%s.%d", field, i+1)
		if t.Key == nil {
			v.Add(nil, f+".key", "Member must not be null")
			continue
		}
		if t.Value == nil {
			v.Add(nil, f+".value", "Member must not be null")
			continue
		}
		v.Length(t.Key, f+".key", 1, 128)
		v.Length(t.Value, f+".value", 1, 256)
		out[*t.Key] = *t.Value
	}
	return out
}

type createGroupInput struct {
	Name        string  `json:"-" http:"label=Name"`
	ClientToken *string `json:"ClientToken"`
	Tags        []tag   `json:"Tags"`
}

type createGroupOutput struct {
	ScheduleGroupArn string `json:"ScheduleGroupArn"`
}

func (s *Service) createScheduleGroup(_ *awsproto.Call, in *createGroupInput) (any, error) {
	var v validation
	v.name(&in.Name, "name")
	v.Length(in.ClientToken, "clientToken", 1, 64)
	tags := v.tags(in.Tags, "tags")
	if e := v.Err(); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.groups[in.Name]; ok {
		if in.ClientToken != nil && old.ClientToken == *in.ClientToken {
			return createGroupOutput{s.groupARN(in.Name)}, nil
		}
		return nil, conflict("Schedule group %s already exists.", in.Name)
	}
	now := s.clock.Now()
	s.groups[in.Name] = &group{Name: in.Name, Created: now, Modified: now, Tags: tags, ClientToken: deref(in.ClientToken, "")}
	s.saveLocked()
	return createGroupOutput{s.groupARN(in.Name)}, nil
}

type groupNameInput struct {
	Name        string `http:"label=Name"`
	ClientToken string `http:"query=clientToken"`
}

type groupSummary struct {
	Arn                  string `json:"Arn"`
	CreationDate         *epoch `json:"CreationDate,omitempty"`
	LastModificationDate *epoch `json:"LastModificationDate,omitempty"`
	Name                 string `json:"Name"`
	State                string `json:"State"`
}

func (s *Service) summary(g *group) groupSummary {
	return groupSummary{Arn: s.groupARN(g.Name), CreationDate: epochPtr(g.Created), LastModificationDate: epochPtr(g.Modified), Name: g.Name, State: "ACTIVE"}
}

func (s *Service) getScheduleGroup(_ *awsproto.Call, in *groupNameInput) (any, error) {
	var v validation
	v.name(&in.Name, "name")
	if e := v.Err(); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[in.Name]
	if !ok {
		return nil, groupNotFound(in.Name)
	}
	return s.summary(g), nil
}

// deleteScheduleGroup deletes a group and its schedules. AWS keeps the
// group DELETING until its schedules are gone; the emulator deletes both at
// once.
func (s *Service) deleteScheduleGroup(_ *awsproto.Call, in *groupNameInput) (any, error) {
	var v validation
	v.name(&in.Name, "name")
	if e := v.Err(); e != nil {
		return nil, e
	}
	if in.Name == defaultGroup {
		return nil, invalid("The default schedule group cannot be deleted.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.groups[in.Name]; !ok {
		return nil, groupNotFound(in.Name)
	}
	delete(s.groups, in.Name)
	for k, sc := range s.schedules {
		if sc.Group == in.Name {
			delete(s.schedules, k)
		}
	}
	s.saveLocked()
	s.poke()
	return nil, nil
}

type listGroupsInput struct {
	MaxResults string `http:"query=MaxResults"`
	NamePrefix string `http:"query=NamePrefix"`
	NextToken  string `http:"query=NextToken"`
}

type listGroupsOutput struct {
	NextToken      *string        `json:"NextToken,omitempty"`
	ScheduleGroups []groupSummary `json:"ScheduleGroups"`
}

func (s *Service) listScheduleGroups(_ *awsproto.Call, in *listGroupsInput) (any, error) {
	var v validation
	limit := v.maxResults(in.MaxResults)
	if in.NamePrefix != "" {
		v.name(&in.NamePrefix, "namePrefix")
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
	var names []string
	for n := range s.groups {
		if strings.HasPrefix(n, in.NamePrefix) && n > after {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := listGroupsOutput{ScheduleGroups: []groupSummary{}}
	if len(names) > limit {
		names = names[:limit]
		out.NextToken = ptr(makeToken(names[limit-1]))
	}
	for _, n := range names {
		out.ScheduleGroups = append(out.ScheduleGroups, s.summary(s.groups[n]))
	}
	return out, nil
}

type tagResourceInput struct {
	ResourceArn string   `json:"-" http:"label=ResourceArn"`
	Tags        []tag    `json:"Tags"`
	TagKeys     []string `json:"-" http:"query=TagKeys"`
}

type tagsOutput struct {
	Tags []tag `json:"Tags"`
}

// taggedGroup finds the group a tagging call names by its ARN. Only groups
// take tags: a schedule's ARN fails the pattern, as on AWS.
func (s *Service) taggedGroup(arn string) (*group, *awsproto.Error) {
	var v validation
	v.Length(&arn, "resourceArn", 1, 1011)
	if !groupARNRE.MatchString(arn) {
		v.Add(arn, "resourceArn", "Member must satisfy regular expression pattern: "+groupARNPattern)
	}
	if e := v.Err(); e != nil {
		return nil, e
	}
	name := arn[strings.LastIndex(arn, "/")+1:]
	g, ok := s.groups[name]
	if !ok || s.groupARN(name) != arn {
		return nil, groupNotFound(name)
	}
	return g, nil
}

func (s *Service) tagResource(_ *awsproto.Call, in *tagResourceInput) (any, error) {
	var v validation
	if in.Tags == nil {
		v.Add(nil, "tags", "Member must not be null")
	}
	tags := v.tags(in.Tags, "tags")
	if e := v.Err(); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.taggedGroup(in.ResourceArn)
	if e != nil {
		return nil, e
	}
	if g.Tags == nil {
		g.Tags = map[string]string{}
	}
	for k, val := range tags {
		g.Tags[k] = val
	}
	s.saveLocked()
	return nil, nil
}

func (s *Service) untagResource(_ *awsproto.Call, in *tagResourceInput) (any, error) {
	if in.TagKeys == nil {
		var v validation
		v.Add(nil, "tagKeys", "Member must not be null")
		return nil, v.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.taggedGroup(in.ResourceArn)
	if e != nil {
		return nil, e
	}
	for _, k := range in.TagKeys {
		delete(g.Tags, k)
	}
	s.saveLocked()
	return nil, nil
}

func (s *Service) listTagsForResource(_ *awsproto.Call, in *tagResourceInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.taggedGroup(in.ResourceArn)
	if e != nil {
		return nil, e
	}
	keys := make([]string, 0, len(g.Tags))
	for k := range g.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := tagsOutput{Tags: []tag{}}
	for _, k := range keys {
		out.Tags = append(out.Tags, tag{Key: ptr(k), Value: ptr(g.Tags[k])})
	}
	return out, nil
}
