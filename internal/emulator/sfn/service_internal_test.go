package sfn

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// blockingFunctions is a Lambda whose invocations last until they are
// cancelled.
type blockingFunctions struct{ started *atomic.Int32 }

func (b blockingFunctions) InvokeFunction(ctx context.Context, _ string, _ []byte) (*Invocation, error) {
	b.started.Add(1)
	<-ctx.Done()
	return nil, ctx.Err()
}

// startBlocked creates a service whose executions all sit in a Task, and
// starts n of them.
func startBlocked(t *testing.T, n int) (*Service, []string) {
	t.Helper()
	var started atomic.Int32
	s, err := New(Options{Functions: blockingFunctions{&started}})
	if err != nil {
		t.Fatal(err)
	}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"},"End":true}}}`
	if _, err := s.createStateMachine(nil, &createStateMachineIn{Name: "m", Definition: def, RoleARN: "arn:aws:iam::000000000000:role/r"}); err != nil {
		t.Fatal(err)
	}
	var arns []string
	for i := range n {
		arn, _, err := s.StartExecution(s.machineARN("m"), fmt.Sprint(i), "{}")
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, arn)
	}
	for deadline := time.Now().Add(10 * time.Second); started.Load() < int32(n); {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d invocations started", started.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s, arns
}

// settled waits for the goroutine count to come back to at most want.
func settled(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left, want at most %d:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseStopsExecutions: Close ends every running execution, records it
// ABORTED and leaves no goroutine behind.
func TestCloseStopsExecutions(t *testing.T) {
	before := runtime.NumGoroutine()
	s, arns := startBlocked(t, 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, arn := range arns {
		if x := s.executions[arn]; x.Status != statusAborted || x.Stop == nil {
			t.Errorf("%s: %s after Close", arn, x.Status)
		}
	}
	if _, _, err := s.StartExecution(s.machineARN("m"), "late", "{}"); err == nil {
		t.Error("StartExecution after Close started an execution")
	}
	settled(t, before)
}

// TestResetStopsExecutions: Reset ends every running execution before it
// drops them, and leaves no goroutine behind.
func TestResetStopsExecutions(t *testing.T) {
	before := runtime.NumGoroutine()
	s, _ := startBlocked(t, 2)
	s.Reset()
	if len(s.executions) != 0 || len(s.machines) != 0 {
		t.Errorf("%d executions and %d state machines after Reset", len(s.executions), len(s.machines))
	}
	settled(t, before)
	_ = s.Close()
}

// TestDeleteStateMachineFailsItsExecutions: a running execution of a
// deleted state machine fails with States.Runtime, as on AWS, and the
// state machine goes with its executions.
func TestDeleteStateMachineFailsItsExecutions(t *testing.T) {
	s, arns := startBlocked(t, 1)
	defer s.Close()
	x := s.executions[arns[0]]
	if _, err := s.deleteStateMachine(nil, &machineIn{StateMachineARN: s.machineARN("m")}); err != nil {
		t.Fatal(err)
	}
	<-x.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if x.Status != statusFailed || *x.Error != "States.Runtime" || *x.Cause != "State machine m has been deleted." {
		t.Errorf("execution %s %v %v", x.Status, *x.Error, *x.Cause)
	}
	if len(s.machines) != 0 || len(s.executions) != 0 {
		t.Errorf("%d state machines and %d executions left after the deletion", len(s.machines), len(s.executions))
	}
}
