// Package asl parses and runs the subset of the Amazon States Language that
// the provider generates, as AWS Step Functions runs it (JSONPath states):
//
//   - states Task (Resource arn:aws:states:::lambda:invoke only), Parallel,
//     Pass, Choice, Succeed and Fail;
//   - InputPath, Parameters (payload templates with ".$" fields, JsonPath,
//     the context object $$ and intrinsic functions), ResultSelector,
//     ResultPath (null included) and OutputPath;
//   - Retry (ErrorEquals, IntervalSeconds, MaxAttempts, BackoffRate,
//     MaxDelaySeconds, JitterStrategy) and Catch (ErrorEquals, ResultPath,
//     Next) on Task and Parallel; TimeoutSeconds on Task and on the machine;
//   - Choice rules StringEquals, StringMatches, IsPresent, BooleanEquals,
//     NumericEquals, And, Or, Not, and Default;
//   - the intrinsics States.Format, StringToJson, JsonToString, Array,
//     ArrayGetItem, ArrayLength, ArrayContains, JsonMerge, Hash, MathAdd
//     and UUID, nested up to 10 deep.
//
// Parse refuses anything else (Map, Wait, other resources, unknown fields,
// bad paths, missing or unreachable states) with a *ValidationError whose
// message is AWS's InvalidDefinition text, each problem with its code and
// location: "SCHEMA_VALIDATION_FAILED: ... at /States/X/Type".
//
// Run interprets a Definition. It calls a Runtime for what lies outside the
// language: invoking a Task's resource and recording history events. JSON
// values are held as nil, bool, json.Number, string, []any and *Object,
// whose keys keep their order as Step Functions keeps them.
package asl
