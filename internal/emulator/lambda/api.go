package lambda

import (
	"net/http"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

// newAPI is Lambda's table of operations: every route the emulated Lambda
// answers, and the only place one is listed. The bindings are the @http
// traits of Lambda's Smithy model.
func (s *Service) newAPI() *awsproto.API {
	return &awsproto.API{
		Name:         "lambda",
		Protocol:     awsproto.RESTJSON,
		SigningNames: []string{"lambda"},
		Operations: []awsproto.Operation{
			{Name: "CreateFunction", HTTP: "POST /2015-03-31/functions", Code: http.StatusCreated, Handler: awsproto.Handle(s.createFunction)},
			{Name: "ListFunctions", HTTP: "GET /2015-03-31/functions/", Handler: awsproto.Handle(s.listFunctions)},
			{Name: "GetFunction", HTTP: "GET /2015-03-31/functions/{FunctionName}", Handler: awsproto.Handle(s.getFunction)},
			{Name: "DeleteFunction", HTTP: "DELETE /2015-03-31/functions/{FunctionName}", Code: http.StatusNoContent, Handler: awsproto.Handle(s.deleteFunction)},
			{Name: "GetFunctionConfiguration", HTTP: "GET /2015-03-31/functions/{FunctionName}/configuration", Handler: awsproto.Handle(s.getFunctionConfiguration)},
			{Name: "UpdateFunctionConfiguration", HTTP: "PUT /2015-03-31/functions/{FunctionName}/configuration", Handler: awsproto.Handle(s.updateFunctionConfiguration)},
			{Name: "UpdateFunctionCode", HTTP: "PUT /2015-03-31/functions/{FunctionName}/code", Handler: awsproto.Handle(s.updateFunctionCode)},
			{Name: "Invoke", HTTP: "POST /2015-03-31/functions/{FunctionName}/invocations", Handler: awsproto.Handle(s.invoke)},
			{Name: "PutFunctionConcurrency", HTTP: "PUT /2017-10-31/functions/{FunctionName}/concurrency", Handler: awsproto.Handle(s.putFunctionConcurrency)},
			{Name: "GetFunctionConcurrency", HTTP: "GET /2019-09-30/functions/{FunctionName}/concurrency", Handler: awsproto.Handle(s.getFunctionConcurrency)},
			{Name: "DeleteFunctionConcurrency", HTTP: "DELETE /2017-10-31/functions/{FunctionName}/concurrency", Code: http.StatusNoContent, Handler: awsproto.Handle(s.deleteFunctionConcurrency)},
			{Name: "TagResource", HTTP: "POST /2017-03-31/tags/{Resource}", Code: http.StatusNoContent, Handler: awsproto.Handle(s.tagResource)},
			{Name: "UntagResource", HTTP: "DELETE /2017-03-31/tags/{Resource}", Code: http.StatusNoContent, Handler: awsproto.Handle(s.untagResource)},
			{Name: "ListTags", HTTP: "GET /2017-03-31/tags/{Resource}", Handler: awsproto.Handle(s.listTags)},
		},
		Unknown: func(string) *awsproto.Error {
			return &awsproto.Error{Status: http.StatusNotFound, Code: "UnknownOperationException", Message: "Unknown operation: this Lambda API call is not emulated"}
		},
		BadInput: func(err error) *awsproto.Error {
			return &awsproto.Error{Status: http.StatusBadRequest, Code: "InvalidRequestContentException", Message: "Could not parse request body into json: " + err.Error()}
		},
		// Lambda's throttle carries, in Retry-After, a hint the SDK exposes
		// as RetryAfterSeconds.
		Throttle: &awsproto.Error{Status: http.StatusTooManyRequests, Code: "TooManyRequestsException", Message: "Rate exceeded", Header: http.Header{"Retry-After": {"1"}}},
		Failure:  &awsproto.Error{Status: http.StatusInternalServerError, Code: "ServiceException", Message: "The AWS Lambda service encountered an internal error."},
	}
}

// API is Lambda's table of operations, for the emulator's router.
func (s *Service) API() *awsproto.API { return s.api }

// ServeHTTP answers one Lambda API request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.api.ServeHTTP(w, r) }
