// Package ecrpolicy writes and reads the one ECR lifecycle rule the provider
// owns: expire untagged images some days after they were pushed. Rules that
// someone else put in a repository's policy are kept as they are.
package ecrpolicy

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Description marks the provider's rule in a policy.
const Description = "aqueduct: expire untagged images"

// MaxDays bounds untagged_image_expiry_days (ten years), well inside ECR's
// countNumber range.
const MaxDays = 3650

type policy struct {
	Rules []rule `json:"rules"`
}

type rule struct {
	RulePriority int            `json:"rulePriority"`
	Description  string         `json:"description,omitempty"`
	Selection    map[string]any `json:"selection"`
	Action       map[string]any `json:"action"`
}

func parse(text string) (policy, error) {
	var p policy
	if text == "" {
		return p, nil
	}
	if err := json.Unmarshal([]byte(text), &p); err != nil {
		return p, fmt.Errorf("the repository's lifecycle policy is not valid JSON: %w", err)
	}
	return p, nil
}

func ours(r rule) bool { return r.Description == Description }

// Days is the expiry of the provider's rule in the policy text, 0 when the
// policy has none.
func Days(text string) (int, error) {
	p, err := parse(text)
	if err != nil {
		return 0, err
	}
	for _, r := range p.Rules {
		if ours(r) {
			if n, ok := r.Selection["countNumber"].(float64); ok {
				return int(n), nil
			}
		}
	}
	return 0, nil
}

// Merge returns the policy text with the provider's rule set to days (removed
// when days is 0), keeping every other rule. The provider's rule takes the
// lowest priority number no other rule holds. empty reports that no rule is
// left, so the policy should be deleted rather than put.
func Merge(text string, days int) (out string, empty bool, err error) {
	if days < 0 || days > MaxDays {
		return "", false, fmt.Errorf("untagged_image_expiry_days %d is outside 0 to %d", days, MaxDays)
	}
	p, err := parse(text)
	if err != nil {
		return "", false, err
	}
	var kept []rule
	taken := map[int]bool{}
	for _, r := range p.Rules {
		if !ours(r) {
			kept = append(kept, r)
			taken[r.RulePriority] = true
		}
	}
	if days > 0 {
		prio := 1
		for taken[prio] {
			prio++
		}
		kept = append(kept, rule{
			RulePriority: prio,
			Description:  Description,
			Selection: map[string]any{
				"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": days,
			},
			Action: map[string]any{"type": "expire"},
		})
	}
	if len(kept) == 0 {
		return "", true, nil
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].RulePriority < kept[j].RulePriority })
	b, err := json.Marshal(policy{Rules: kept})
	return string(b), false, err
}
