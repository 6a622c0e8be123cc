package ecr

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

// Repository settings beyond creation: image scanning and the lifecycle
// policy. The emulator stores and returns the policy; it does not expire
// images by it (AWS evaluates policies within 24 hours anyway).

func errLifecyclePolicyNotFound(repo string) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "LifecyclePolicyNotFoundException",
		"Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", repo, awsproto.AccountID)
}

type putImageScanningConfigurationIn struct {
	RepositoryName             string `json:"repositoryName"`
	ImageScanningConfiguration *struct {
		ScanOnPush bool `json:"scanOnPush"`
	} `json:"imageScanningConfiguration"`
}

func (s *Service) putImageScanningConfiguration(_ *awsproto.Call, in *putImageScanningConfigurationIn) (any, error) {
	if in.ImageScanningConfiguration == nil {
		return nil, errInvalid("Invalid parameter at 'imageScanningConfiguration' failed to satisfy constraint: 'Member must not be null'")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, e := s.repoLocked(in.RepositoryName)
	if e != nil {
		return nil, e
	}
	repo.ScanOnPush = in.ImageScanningConfiguration.ScanOnPush
	s.save()
	return map[string]any{
		"registryId": awsproto.AccountID, "repositoryName": repo.Name,
		"imageScanningConfiguration": map[string]bool{"scanOnPush": repo.ScanOnPush},
	}, nil
}

type lifecyclePolicyIn struct {
	RepositoryName      string `json:"repositoryName"`
	LifecyclePolicyText string `json:"lifecyclePolicyText"`
}

// checkLifecyclePolicy applies the shape ECR checks on PutLifecyclePolicy:
// rules with distinct positive priorities, a selection and an expire action.
func checkLifecyclePolicy(text string) *awsproto.Error {
	if len(text) < 100 || len(text) > 30720 {
		return errInvalid("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Member must have length between 100 and 30720'")
	}
	var p struct {
		Rules []struct {
			RulePriority int `json:"rulePriority"`
			Selection    *struct {
				TagStatus   string `json:"tagStatus"`
				CountType   string `json:"countType"`
				CountNumber int    `json:"countNumber"`
			} `json:"selection"`
			Action *struct {
				Type string `json:"type"`
			} `json:"action"`
		} `json:"rules"`
	}
	if err := json.Unmarshal([]byte(text), &p); err != nil || len(p.Rules) == 0 {
		return awsproto.Errorf(http.StatusBadRequest, "InvalidParameterException", "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: the policy must be a JSON object with a non-empty rules array'")
	}
	seen := map[int]bool{}
	for _, r := range p.Rules {
		switch {
		case r.RulePriority < 1 || seen[r.RulePriority]:
			return errInvalid("Lifecycle policy validation failure: rulePriority must be a unique positive integer, got %d", r.RulePriority)
		case r.Selection == nil || r.Action == nil || r.Action.Type != "expire":
			return errInvalid("Lifecycle policy validation failure: each rule needs a selection and an action of type expire")
		case r.Selection.TagStatus != "tagged" && r.Selection.TagStatus != "untagged" && r.Selection.TagStatus != "any":
			return errInvalid("Lifecycle policy validation failure: tagStatus %q is not one of tagged, untagged, any", r.Selection.TagStatus)
		case r.Selection.CountType != "imageCountMoreThan" && r.Selection.CountType != "sinceImagePushed":
			return errInvalid("Lifecycle policy validation failure: countType %q is not one of imageCountMoreThan, sinceImagePushed", r.Selection.CountType)
		case r.Selection.CountNumber < 1:
			return errInvalid("Lifecycle policy validation failure: countNumber must be at least 1, got %d", r.Selection.CountNumber)
		}
		seen[r.RulePriority] = true
	}
	return nil
}

func (s *Service) putLifecyclePolicy(_ *awsproto.Call, in *lifecyclePolicyIn) (any, error) {
	if e := checkLifecyclePolicy(in.LifecyclePolicyText); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, e := s.repoLocked(in.RepositoryName)
	if e != nil {
		return nil, e
	}
	repo.LifecyclePolicy, repo.LifecycleUpdated = in.LifecyclePolicyText, time.Now().UTC()
	s.save()
	return map[string]any{"registryId": awsproto.AccountID, "repositoryName": repo.Name, "lifecyclePolicyText": repo.LifecyclePolicy}, nil
}

func (s *Service) getLifecyclePolicy(_ *awsproto.Call, in *lifecyclePolicyIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, e := s.repoLocked(in.RepositoryName)
	if e != nil {
		return nil, e
	}
	if repo.LifecyclePolicy == "" {
		return nil, errLifecyclePolicyNotFound(repo.Name)
	}
	return map[string]any{
		"registryId": awsproto.AccountID, "repositoryName": repo.Name,
		"lifecyclePolicyText": repo.LifecyclePolicy, "lastEvaluatedAt": epoch(repo.LifecycleUpdated),
	}, nil
}

func (s *Service) deleteLifecyclePolicy(_ *awsproto.Call, in *lifecyclePolicyIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, e := s.repoLocked(in.RepositoryName)
	if e != nil {
		return nil, e
	}
	if repo.LifecyclePolicy == "" {
		return nil, errLifecyclePolicyNotFound(repo.Name)
	}
	text := repo.LifecyclePolicy
	repo.LifecyclePolicy = ""
	s.save()
	return map[string]any{"registryId": awsproto.AccountID, "repositoryName": repo.Name, "lifecyclePolicyText": text}, nil
}
