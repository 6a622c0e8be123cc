// Package tags holds the tag rules every resource shares: the provider's
// default_tags merged under a resource's own tags, the keys ignore_tags
// hides, the provider's internal `aqueduct:` namespace, and AWS's limits.
//
// A resource's tags_all is Config.Merge(tags). What AWS reports back goes
// through Config.Visible, so internal, AWS-reserved and ignored keys never
// reach Terraform state, and Config.Own turns it back into the resource's
// own `tags`.
package tags

import (
	"fmt"
	"maps"
	"sort"
	"strings"
)

// AWS's limits on tags, the same for Lambda, ECR and Step Functions.
const (
	MaxKeyLength   = 128
	MaxValueLength = 256
	MaxPerResource = 50
)

// InternalPrefix is the namespace of the tags the provider writes itself
// (ownership, engine settings): never set by a user, never shown.
const InternalPrefix = "aqueduct:"

// AWSPrefix is reserved by AWS for its own tags.
const AWSPrefix = "aws:"

// Config is the provider's default_tags and ignore_tags. The zero value, or
// a nil *Config, has no defaults and ignores nothing.
type Config struct {
	Default           map[string]string
	IgnoreKeys        []string
	IgnoreKeyPrefixes []string
}

// Ignored reports whether ignore_tags hides key.
func (c *Config) Ignored(key string) bool {
	if c == nil {
		return false
	}
	for _, k := range c.IgnoreKeys {
		if k == key {
			return true
		}
	}
	for _, p := range c.IgnoreKeyPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// Unmanaged reports a key the provider neither writes from tags_all nor
// removes: its own internal tags, AWS's, and ignored ones.
func (c *Config) Unmanaged(key string) bool {
	return strings.HasPrefix(key, InternalPrefix) || strings.HasPrefix(key, AWSPrefix) || c.Ignored(key)
}

// Merge is tags_all: the default tags, overridden by the resource's own,
// without ignored keys. It never returns nil.
func (c *Config) Merge(resource map[string]string) map[string]string {
	out := map[string]string{}
	if c != nil {
		maps.Copy(out, c.Default)
	}
	maps.Copy(out, resource)
	for k := range out {
		if c.Ignored(k) {
			delete(out, k)
		}
	}
	return out
}

// Visible is the part of what AWS reports that Terraform manages: tags_all
// as read back. It never returns nil.
func (c *Config) Visible(fromAWS map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range fromAWS {
		if !c.Unmanaged(k) {
			out[k] = v
		}
	}
	return out
}

// Own recovers a resource's own tags from its tags_all as read: a key the
// prior tags held stays, a key that only repeats a default tag (same value)
// is the default's, and anything else was added outside Terraform and so
// shows as the resource's, which the next plan removes.
func (c *Config) Own(all, prior map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range all {
		if _, ok := prior[k]; ok {
			out[k] = v
			continue
		}
		if c != nil {
			if d, ok := c.Default[k]; ok && d == v {
				continue
			}
		}
		out[k] = v
	}
	return out
}

// With returns internal and user tags together: what goes on an AWS object.
func With(internal, user map[string]string) map[string]string {
	out := maps.Clone(user)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, internal)
	return out
}

// Problem is one broken limit.
type Problem struct {
	Key    string // the tag key, empty for the count
	Detail string
}

// CheckKey says what is wrong with a user's tag key, or "".
func CheckKey(k string) string {
	switch {
	case len(k) < 1 || len(k) > MaxKeyLength:
		return fmt.Sprintf("tag key %q is %d characters; AWS allows 1 to %d", k, len(k), MaxKeyLength)
	case strings.HasPrefix(strings.ToLower(k), AWSPrefix):
		return fmt.Sprintf("tag key %q starts with %q, which AWS reserves for its own tags", k, AWSPrefix)
	case strings.HasPrefix(k, InternalPrefix):
		return fmt.Sprintf("tag key %q starts with %q, which the provider reserves for its own tags", k, InternalPrefix)
	}
	return ""
}

// CheckValue says what is wrong with a tag value, or "".
func CheckValue(k, v string) string {
	if len(v) > MaxValueLength {
		return fmt.Sprintf("the value of tag %q is %d characters; AWS allows 0 to %d", k, len(v), MaxValueLength)
	}
	return ""
}

// CheckCount says whether n user tags fit next to internal provider tags,
// or "".
func CheckCount(n, internal int) string {
	if n+internal > MaxPerResource {
		return fmt.Sprintf("%d tags (tags merged with default_tags) and the provider's %d internal tags make %d; AWS allows %d per resource, so at most %d can be set here",
			n, internal, n+internal, MaxPerResource, MaxPerResource-internal)
	}
	return ""
}

// Check lists what is wrong with a tag map, keys in order.
func Check(m map[string]string) []Problem {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Problem
	for _, k := range keys {
		if d := CheckKey(k); d != "" {
			out = append(out, Problem{Key: k, Detail: d})
		}
		if d := CheckValue(k, m[k]); d != "" {
			out = append(out, Problem{Key: k, Detail: d})
		}
	}
	return out
}

// Diff returns the tags to set and the keys to remove to turn have into
// want, leaving keys unmanaged by c alone.
func (c *Config) Diff(have, want map[string]string) (set map[string]string, remove []string) {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			if set == nil {
				set = map[string]string{}
			}
			set[k] = v
		}
	}
	for k := range have {
		if _, ok := want[k]; !ok && !c.Unmanaged(k) {
			remove = append(remove, k)
		}
	}
	sort.Strings(remove)
	return set, remove
}
