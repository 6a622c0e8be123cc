package loggroup_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/logs"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/loggroup"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
)

// client is the real SDK client on the emulated CloudWatch Logs.
func client(t *testing.T) (*cwl.Client, *logs.Service) {
	t.Helper()
	svc, err := logs.New(logs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.API())
	t.Cleanup(srv.Close)
	return cwl.New(cwl.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}}), svc
}

func TestEnsureAdoptsOursAndLeavesOthers(t *testing.T) {
	c, _ := client(t)
	ctx := context.Background()
	cfg := loggroup.Config{Name: loggroup.Name("wf-op-1"), Owner: "owner-1", RetentionDays: 14, Tags: map[string]string{"team": "ml"}}
	g, err := loggroup.Ensure(ctx, c, cfg)
	if err != nil || !g.Ours || g.RetentionDays != 14 || g.Tags[naming.TagOwner] != "owner-1" || g.Tags["team"] != "ml" {
		t.Fatalf("created %+v, %v", g, err)
	}
	// Ours again (an interrupted apply left it): adopted, retention updated.
	cfg.RetentionDays = 0
	if g, err = loggroup.Ensure(ctx, c, cfg); err != nil || g.RetentionDays != 0 {
		t.Fatalf("adopted %+v, %v", g, err)
	}
	got, _ := loggroup.Get(ctx, c, cfg.Name, "owner-1")
	if got.RetentionDays != 0 {
		t.Errorf("retention %d after going back to forever", got.RetentionDays)
	}

	// Someone else's: reported, not changed, not deleted.
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/aws/lambda/theirs")}); err != nil {
		t.Fatal(err)
	}
	_, err = loggroup.Ensure(ctx, c, loggroup.Config{Name: "/aws/lambda/theirs", Owner: "owner-1", RetentionDays: 7})
	if !errors.Is(err, loggroup.ErrNotOurs) {
		t.Fatalf("foreign group: %v", err)
	}
	if g, _ := loggroup.Get(ctx, c, "/aws/lambda/theirs", "owner-1"); g == nil || g.Ours || g.RetentionDays != 0 {
		t.Errorf("foreign group changed: %+v", g)
	}
	if deleted, err := loggroup.Delete(ctx, c, "/aws/lambda/theirs", "owner-1"); deleted || err != nil {
		t.Errorf("deleted a foreign group: %v %v", deleted, err)
	}
	if deleted, err := loggroup.Delete(ctx, c, cfg.Name, "owner-1"); !deleted || err != nil {
		t.Errorf("did not delete ours: %v %v", deleted, err)
	}
	if deleted, err := loggroup.Delete(ctx, c, cfg.Name, "owner-1"); deleted || err != nil {
		t.Errorf("second delete: %v %v", deleted, err)
	}
}

func TestFindStream(t *testing.T) {
	c, svc := client(t)
	ctx := context.Background()
	group := loggroup.Name("fn")
	if s, err := loggroup.FindStream(ctx, c, group, "req-1", 1, 0); s != "" || err != nil {
		t.Fatalf("no group: %q %v", s, err)
	}
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	svc.Append(group, "2026/12/01/[$LATEST]aaa", []string{"START RequestId: req-0 Version: $LATEST", "END RequestId: req-0"})
	go func() {
		time.Sleep(50 * time.Millisecond) // delivered late, as on AWS
		svc.Append(group, "2026/12/01/[$LATEST]bbb", []string{"START RequestId: req-1 Version: $LATEST", "hello"})
	}()
	s, err := loggroup.FindStream(ctx, c, group, "req-1", 20, 20*time.Millisecond)
	if err != nil || s != "2026/12/01/[$LATEST]bbb" {
		t.Fatalf("stream %q, %v", s, err)
	}
}
