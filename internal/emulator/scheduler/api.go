package scheduler

import (
	"net/http"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

// newAPI is Scheduler's table of operations: every route the emulated
// EventBridge Scheduler answers, and the only place one is listed. The
// bindings are the @http traits of its Smithy model (scheduler-2021-06-30);
// every success is 200.
func (s *Service) newAPI() *awsproto.API {
	return &awsproto.API{
		Name:         "scheduler",
		Protocol:     awsproto.RESTJSON,
		SigningNames: []string{"scheduler"},
		Operations: []awsproto.Operation{
			{Name: "CreateSchedule", HTTP: "POST /schedules/{Name}", Handler: awsproto.Handle(s.createSchedule)},
			{Name: "GetSchedule", HTTP: "GET /schedules/{Name}", Handler: awsproto.Handle(s.getSchedule)},
			{Name: "UpdateSchedule", HTTP: "PUT /schedules/{Name}", Handler: awsproto.Handle(s.updateSchedule)},
			{Name: "DeleteSchedule", HTTP: "DELETE /schedules/{Name}", Handler: awsproto.Handle(s.deleteSchedule)},
			{Name: "ListSchedules", HTTP: "GET /schedules", Handler: awsproto.Handle(s.listSchedules)},
			{Name: "CreateScheduleGroup", HTTP: "POST /schedule-groups/{Name}", Handler: awsproto.Handle(s.createScheduleGroup)},
			{Name: "GetScheduleGroup", HTTP: "GET /schedule-groups/{Name}", Handler: awsproto.Handle(s.getScheduleGroup)},
			{Name: "DeleteScheduleGroup", HTTP: "DELETE /schedule-groups/{Name}", Handler: awsproto.Handle(s.deleteScheduleGroup)},
			{Name: "ListScheduleGroups", HTTP: "GET /schedule-groups", Handler: awsproto.Handle(s.listScheduleGroups)},
			{Name: "TagResource", HTTP: "POST /tags/{ResourceArn}", Handler: awsproto.Handle(s.tagResource)},
			{Name: "UntagResource", HTTP: "DELETE /tags/{ResourceArn}", Handler: awsproto.Handle(s.untagResource)},
			{Name: "ListTagsForResource", HTTP: "GET /tags/{ResourceArn}", Handler: awsproto.Handle(s.listTagsForResource)},
		},
		Unknown: func(asked string) *awsproto.Error {
			return awsproto.Errorf(http.StatusNotFound, "UnknownOperationException", "%s is not an operation of the emulated EventBridge Scheduler", asked)
		},
		BadInput: func(err error) *awsproto.Error {
			return invalid("Could not read the request: %v", err)
		},
		Throttle: throttling,
		Failure:  internal,
	}
}

// ServeHTTP answers one Scheduler API request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.api.ServeHTTP(w, r) }
