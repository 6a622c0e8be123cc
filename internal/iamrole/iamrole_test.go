package iamrole

import (
	"net/url"
	"testing"
)

func TestARNPattern(t *testing.T) {
	good := []string{
		"arn:aws:iam::123456789012:role/lambda-exec",
		"arn:aws:iam::000000000000:role/service-role/ml/aqueduct_exec",
		"arn:aws-cn:iam::123456789012:role/x",
		"arn:aws-us-gov:iam::123456789012:role/a+b=c,d.e@f-g",
	}
	bad := []string{
		"", "lambda-exec", "arn:aws:iam::12345:role/x", "arn:aws:iam::123456789012:user/x",
		"arn:aws:iam::123456789012:role/", "arn:aws:s3:::bucket", "arn:aws:iam::123456789012:role/has space",
	}
	for _, a := range good {
		if !ARNPattern.MatchString(a) {
			t.Errorf("%q rejected", a)
		}
	}
	for _, a := range bad {
		if ARNPattern.MatchString(a) {
			t.Errorf("%q accepted", a)
		}
	}
	if NameFromARN("arn:aws:iam::000000000000:role/service-role/ml/exec") != "exec" {
		t.Error("NameFromARN must return the last path segment")
	}
}

func TestTrustsLambda(t *testing.T) {
	cases := map[string]bool{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`: true,
		`{"Statement":{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},"Action":["sts:AssumeRole"]}}`:  true,
		`{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`:                           false,
		`{"Statement":[{"Effect":"Deny","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`:                         false,
		`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`:                  false,
		url.QueryEscape(`{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`):       true,
	}
	for doc, want := range cases {
		got, err := trustsLambda(doc)
		if err != nil || got != want {
			t.Errorf("trustsLambda(%s) = %v, %v; want %v", doc, got, err, want)
		}
	}
	if _, err := trustsLambda("not json"); err == nil {
		t.Error("malformed policy must be an error")
	}
}
