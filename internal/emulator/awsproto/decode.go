package awsproto

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// maxBody bounds the request bodies the protocols read: above every limit
// the emulated services check themselves (Lambda's 6 MB payloads).
const maxBody = 32 << 20

// decode fills in (a pointer to the operation's input) from r, as protocol p
// binds inputs.
func decode(p Protocol, r *http.Request, labels map[string]string, in reflect.Value) error {
	switch p {
	case AWSJSON10, AWSJSON11:
		body, err := readBody(r)
		if err != nil {
			return err
		}
		if len(body) == 0 {
			return nil
		}
		return json.Unmarshal(body, in.Interface())
	case RESTJSON:
		return decodeREST(r, labels, in.Elem())
	case AWSQuery:
		if err := r.ParseForm(); err != nil {
			return err
		}
		return decodeForm(r.Form, "", in.Elem())
	}
	return nil
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("the request body is larger than %d bytes", maxBody)
	}
	return b, nil
}

// decodeREST binds restJson inputs: the JSON body first, or the raw body
// into the payload field; then labels, query strings and headers.
func decodeREST(r *http.Request, labels map[string]string, v reflect.Value) error {
	t := v.Type()
	payload := -1
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("http") == "payload" {
			payload = i
		}
	}
	if payload >= 0 {
		var body []byte
		if r.Body != nil {
			// The handler holds the payload to its own, smaller limit.
			b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
			if err != nil {
				return fmt.Errorf("reading the request body: %w", err)
			}
			body = b
		}
		v.Field(payload).SetBytes(body)
	} else {
		body, err := readBody(r)
		if err != nil {
			return err
		}
		if len(body) > 0 {
			if err := json.Unmarshal(body, v.Addr().Interface()); err != nil {
				return err
			}
		}
	}
	q := r.URL.Query()
	for i := range t.NumField() {
		kind, name, _ := strings.Cut(t.Field(i).Tag.Get("http"), "=")
		f := v.Field(i)
		switch kind {
		case "label":
			f.SetString(labels[name])
		case "header":
			f.SetString(r.Header.Get(name))
		case "query":
			if f.Kind() == reflect.Slice {
				f.Set(reflect.ValueOf(q[name]))
			} else {
				f.SetString(q.Get(name))
			}
		}
	}
	return nil
}

// decodeForm binds awsQuery inputs: `query:"Name"` strings,
// `query:"Name.member"` lists of strings read from Name.member.1,
// Name.member.2, and lists of structs read from Name.member.1.Field,
// Name.member.2.Field, and so on. Embedded structs' fields are bound too.
func decodeForm(form map[string][]string, prefix string, v reflect.Value) error {
	t := v.Type()
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("query")
		f := v.Field(i)
		if name == "" {
			// An embedded struct shares its fields (inputs common to
			// several operations).
			if t.Field(i).Anonymous && f.Kind() == reflect.Struct {
				if err := decodeForm(form, prefix, f); err != nil {
					return err
				}
			}
			continue
		}
		key := prefix + name
		switch {
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
			for n := 1; len(form[fmt.Sprintf("%s.%d", key, n)]) > 0; n++ {
				f.Set(reflect.Append(f, reflect.ValueOf(form[fmt.Sprintf("%s.%d", key, n)][0])))
			}
		case f.Kind() == reflect.String:
			if vs := form[key]; len(vs) > 0 {
				f.SetString(vs[0])
			}
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct:
			for n := 1; hasPrefix(form, fmt.Sprintf("%s.%d.", key, n)); n++ {
				el := reflect.New(f.Type().Elem()).Elem()
				if err := decodeForm(form, fmt.Sprintf("%s.%d.", key, n), el); err != nil {
					return err
				}
				f.Set(reflect.Append(f, el))
			}
		default:
			return errors.New("awsproto: cannot decode a query field of type " + f.Type().String())
		}
	}
	return nil
}

func hasPrefix(form map[string][]string, prefix string) bool {
	for k := range form {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}
