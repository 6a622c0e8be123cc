package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/scheduler"
)

// serveAdmin answers /_emulator/*: faults, reset, health, invocations,
// the request counts, and Scheduler's fire and deliveries. Admin requests
// never get faults.
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_emulator/faults":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, e.Faults())
		case http.MethodPost, http.MethodPut:
			var f Faults
			dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&f); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "faults: " + err.Error()})
				return
			}
			if err := e.SetFaults(f); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			writeJSON(w, http.StatusOK, e.Faults())
		default:
			methodNotAllowed(w, "GET, POST")
		}
	case "/_emulator/reset":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		if err := e.Reset(); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "reset"})
	case "/_emulator/health":
		services := map[string]string{}
		for _, name := range e.serviceNames() {
			services[name] = "running"
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"status":   "running",
			"url":      e.URL(),
			"region":   e.opts.Region,
			"account":  awsproto.AccountID,
			"services": services,
		})
	case "/_emulator/invocations":
		if e.lambda == nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "lambda is not available"})
			return
		}
		writeJSON(w, http.StatusOK, e.lambda.Invocations())
	case "/_emulator/requests":
		// Counts by service, operation and outcome: enough to see retries.
		counts := map[string]map[string]map[string]int{}
		for _, q := range e.Requests() {
			if counts[q.Service] == nil {
				counts[q.Service] = map[string]map[string]int{}
			}
			if counts[q.Service][q.Operation] == nil {
				counts[q.Service][q.Operation] = map[string]int{}
			}
			key := fmt.Sprint(q.Status)
			if q.Fault != "" {
				key += " " + q.Fault
			}
			counts[q.Service][q.Operation][key]++
		}
		writeJSON(w, http.StatusOK, counts)
	case "/_emulator/scheduler/fire":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		name := r.URL.Query().Get("name")
		if name == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "name is required: POST /_emulator/scheduler/fire?name=NAME[&group=GROUP]"})
			return
		}
		d, err := e.scheduler.Fire(r.Context(), r.URL.Query().Get("group"), name)
		switch {
		case errors.Is(err, scheduler.ErrNoSchedule):
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		case err != nil:
			writeJSON(w, http.StatusBadGateway, map[string]any{"error": err.Error(), "delivery": d})
		default:
			writeJSON(w, http.StatusOK, map[string]any{"delivery": d})
		}
	case "/_emulator/scheduler/deliveries":
		writeJSON(w, http.StatusOK, e.scheduler.Deliveries())
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no admin endpoint " + r.URL.Path + "; see /_emulator/health, faults, reset, invocations, requests, scheduler/fire, scheduler/deliveries"})
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed; use " + allow})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
