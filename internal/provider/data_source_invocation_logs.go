package provider

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/loggroup"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/run"
)

// operatorLogModel points at an operator's full log, beyond the 4 KB tail.
type operatorLogModel struct {
	RequestID types.String `tfsdk:"request_id"`
	LogGroup  types.String `tfsdk:"log_group"`
	LogStream types.String `tfsdk:"log_stream"`
}

func operatorLog(op *run.OperatorRecord, stream string) operatorLogModel {
	m := operatorLogModel{RequestID: nullIfEmpty(op.RequestID), LogGroup: types.StringNull(), LogStream: nullIfEmpty(stream)}
	if op.RequestID != "" && op.FunctionName != "" {
		m.LogGroup = types.StringValue(loggroup.Name(op.FunctionName))
	}
	return m
}

// How long the data source waits for CloudWatch Logs to show an
// invocation's lines: delivery takes seconds on AWS.
const (
	streamLookups   = 5
	streamLookupGap = 2 * time.Second
)

// logStreams finds, for each invoked operator of the run, the stream that
// holds its log, in parallel. Not finding one is not an error: the log may
// not have arrived, or the role may not write logs.
func (d *invocationDataSource) logStreams(ctx context.Context, region string, rec *run.Record) map[string]string {
	api := d.data.AWS.ForRegion(region).Logs
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]string{}
	for name, op := range rec.Operators {
		if op.RequestID == "" || op.FunctionName == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := loggroup.FindStream(ctx, api, loggroup.Name(op.FunctionName), op.RequestID, streamLookups, streamLookupGap)
			if err != nil {
				tflog.Warn(ctx, "cannot find the operator's log stream", map[string]any{"operator": name, "error": err.Error()})
				return
			}
			mu.Lock()
			out[name] = s
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}
