package logs_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/logs"
)

func client(t *testing.T, opts ...emulatortest.Option) (*cwl.Client, context.Context) {
	t.Helper()
	e := emulatortest.Start(t, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return cwl.NewFromConfig(emulatortest.Config(t, e)), ctx
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("error %v, want %s", err, code)
	}
}

func describe(t *testing.T, c *cwl.Client, ctx context.Context, name string) *types.LogGroup {
	t.Helper()
	out, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range out.LogGroups {
		if aws.ToString(out.LogGroups[i].LogGroupName) == name {
			return &out.LogGroups[i]
		}
	}
	return nil
}

func TestLogGroupLifecycle(t *testing.T) {
	c, ctx := client(t)
	name := "/aws/lambda/wf-train-abc"
	_, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(name), Tags: map[string]string{"owner": "me"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(name)})
	wantCode(t, err, "ResourceAlreadyExistsException")

	g := describe(t, c, ctx, name)
	if g == nil || g.RetentionInDays != nil || aws.ToString(g.LogGroupArn) != "arn:aws:logs:us-east-1:000000000000:log-group:"+name || aws.ToInt64(g.CreationTime) == 0 {
		t.Fatalf("described %+v", g)
	}
	if _, err := c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String(name), RetentionInDays: aws.Int32(14)}); err != nil {
		t.Fatal(err)
	}
	if g := describe(t, c, ctx, name); aws.ToInt32(g.RetentionInDays) != 14 {
		t.Errorf("retention %v, want 14", g.RetentionInDays)
	}
	_, err = c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String(name), RetentionInDays: aws.Int32(10)})
	wantCode(t, err, "ValidationException")
	if _, err := c.DeleteRetentionPolicy(ctx, &cwl.DeleteRetentionPolicyInput{LogGroupName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if g := describe(t, c, ctx, name); g.RetentionInDays != nil {
		t.Errorf("retention %v after DeleteRetentionPolicy", *g.RetentionInDays)
	}

	arn := aws.String("arn:aws:logs:us-east-1:000000000000:log-group:" + name)
	if _, err := c.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: arn, Tags: map[string]string{"team": "ml"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || tags.Tags["owner"] != "me" || tags.Tags["team"] != "ml" {
		t.Fatalf("tags %v, %v", tags, err)
	}
	if _, err := c.UntagResource(ctx, &cwl.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"owner"}}); err != nil {
		t.Fatal(err)
	}
	if tags, _ := c.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: arn}); len(tags.Tags) != 1 {
		t.Errorf("tags after untag %v", tags.Tags)
	}

	if _, err := c.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String(name)})
	wantCode(t, err, "ResourceNotFoundException")
	if describe(t, c, ctx, name) != nil {
		t.Error("group still described after delete")
	}
	_, err = c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("bad name!")})
	wantCode(t, err, "ValidationException")
}

func TestDescribeLogGroupsPages(t *testing.T) {
	c, ctx := client(t)
	for i := range 7 {
		if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(fmt.Sprintf("/p/g%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/other")}); err != nil {
		t.Fatal(err)
	}
	var names []string
	p := cwl.NewDescribeLogGroupsPaginator(c, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/p/"), Limit: aws.Int32(3)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, g := range out.LogGroups {
			names = append(names, aws.ToString(g.LogGroupName))
		}
	}
	if pages != 3 || strings.Join(names, ",") != "/p/g0,/p/g1,/p/g2,/p/g3,/p/g4,/p/g5,/p/g6" {
		t.Errorf("%d pages: %v", pages, names)
	}
}

func TestStreamsAndEvents(t *testing.T) {
	c, ctx := client(t)
	g := aws.String("/aws/lambda/f")
	_, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: g, LogStreamName: aws.String("s1")})
	wantCode(t, err, "ResourceNotFoundException")
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: g}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"s1", "s2"} {
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: g, LogStreamName: aws.String(s)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: g, LogStreamName: aws.String("s1")})
	wantCode(t, err, "ResourceAlreadyExistsException")

	long := strings.Repeat("x", 9000)
	base := time.Now().UnixMilli()
	var evs []types.InputLogEvent
	for i := range 25 {
		evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(base + int64(i)), Message: aws.String(fmt.Sprintf("line %02d", i))})
	}
	evs[10].Message = aws.String("START RequestId: r-1 " + long)
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: g, LogStreamName: aws.String("s1"), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: g, LogStreamName: aws.String("s2"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(base + 5), Message: aws.String("other stream")}}}); err != nil {
		t.Fatal(err)
	}

	// GetLogEvents from the head, 10 at a time, until the token repeats.
	var got []string
	in := &cwl.GetLogEventsInput{LogGroupName: g, LogStreamName: aws.String("s1"), StartFromHead: aws.Bool(true), Limit: aws.Int32(10)}
	for range 10 {
		out, err := c.GetLogEvents(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			got = append(got, aws.ToString(e.Message))
		}
		if in.NextToken != nil && aws.ToString(out.NextForwardToken) == *in.NextToken {
			break
		}
		in.NextToken = out.NextForwardToken
	}
	if len(got) != 25 || got[0] != "line 00" || got[24] != "line 24" || len(got[10]) != len("START RequestId: r-1 ")+9000 {
		t.Fatalf("read %d events: first %q last %q", len(got), got[0], got[len(got)-1])
	}
	// Without startFromHead the newest events come first.
	tail, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupIdentifier: g, LogStreamName: aws.String("s1"), Limit: aws.Int32(3)})
	if err != nil || len(tail.Events) != 3 || aws.ToString(tail.Events[2].Message) != "line 24" {
		t.Fatalf("tail %+v %v", tail, err)
	}

	streams, err := c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: g, OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true)})
	if err != nil || len(streams.LogStreams) != 2 || aws.ToString(streams.LogStreams[0].LogStreamName) != "s1" ||
		aws.ToInt64(streams.LogStreams[0].LastEventTimestamp) != base+24 {
		t.Fatalf("streams %+v %v", streams, err)
	}

	f, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String(`"RequestId: r-1"`)})
	if err != nil || len(f.Events) != 1 || aws.ToString(f.Events[0].LogStreamName) != "s1" || len(f.SearchedLogStreams) != 2 {
		t.Fatalf("filter %+v %v", f, err)
	}
	all, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: g, Limit: aws.Int32(20)})
	if err != nil || len(all.Events) != 20 || all.NextToken == nil {
		t.Fatalf("first filter page: %d events, token %v, %v", len(all.Events), all.NextToken, err)
	}
	rest, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: g, Limit: aws.Int32(20), NextToken: all.NextToken})
	if err != nil || len(rest.Events) != 6 || rest.NextToken != nil {
		t.Fatalf("second filter page: %d events, %v", len(rest.Events), err)
	}
}

func TestStatePersists(t *testing.T) {
	dir := t.TempDir()
	s, err := logs.New(logs.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if s.Append("/missing", "s", []string{"x"}) {
		t.Error("Append wrote to a group that does not exist")
	}
	srv := httptest.NewServer(s.API())
	t.Cleanup(srv.Close)
	c := cwl.New(cwl.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.AnonymousCredentials{}})
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/kept")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("/kept"), RetentionInDays: aws.Int32(30)}); err != nil {
		t.Fatal(err)
	}
	if !s.Append("/kept", "2026/12/01/[$LATEST]abc", []string{"START RequestId: 1", "hello"}) {
		t.Fatal("Append to an existing group failed")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := logs.New(logs.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(s2.API())
	t.Cleanup(srv2.Close)
	c2 := cwl.New(cwl.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv2.URL), Credentials: aws.AnonymousCredentials{}})
	if g := describe(t, c2, ctx, "/kept"); g == nil || aws.ToInt32(g.RetentionInDays) != 30 {
		t.Errorf("after restart: %+v", g)
	}
	ev, err := c2.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("/kept"), LogStreamName: aws.String("2026/12/01/[$LATEST]abc"), StartFromHead: aws.Bool(true)})
	if err != nil || len(ev.Events) != 2 || aws.ToString(ev.Events[1].Message) != "hello" {
		t.Errorf("events after restart: %+v %v", ev, err)
	}
}
