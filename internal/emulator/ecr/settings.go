package ecr

import (
	"encoding/json"
	"net/http"
	"strings"
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

type putImageIn struct {
	RepositoryName         string `json:"repositoryName"`
	ImageManifest          string `json:"imageManifest"`
	ImageManifestMediaType string `json:"imageManifestMediaType"`
	ImageTag               string `json:"imageTag"`
	ImageDigest            string `json:"imageDigest"`
}

// putImage is ECR's PutImage: the registry's manifest PUT, with ECR's
// exceptions. An existing tag of an IMMUTABLE repository is refused even
// for the same manifest (ImageTagAlreadyExistsException); re-putting the
// same manifest under the same tag of a MUTABLE one is
// ImageAlreadyExistsException.
func (s *Service) putImage(_ *awsproto.Call, in *putImageIn) (any, error) {
	if in.ImageManifest == "" {
		return nil, errInvalid("Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Member must not be null'")
	}
	ref := in.ImageTag
	if ref == "" {
		ref = in.ImageDigest
	}
	if ref == "" {
		return nil, errInvalid("Invalid parameter: an imageTag or an imageDigest is required")
	}
	s.mu.Lock()
	repo, e := s.repoLocked(in.RepositoryName)
	if e != nil {
		s.mu.Unlock()
		return nil, e
	}
	if in.ImageTag != "" {
		if old, ok := repo.ImageTags[in.ImageTag]; ok {
			im, _, _ := parseImage(manifestType(in.ImageManifestMediaType, []byte(in.ImageManifest)), []byte(in.ImageManifest))
			immutable := strings.HasPrefix(repo.TagMutability, "IMMUTABLE")
			s.mu.Unlock()
			if immutable {
				return nil, awsproto.Errorf(http.StatusBadRequest, "ImageTagAlreadyExistsException",
					"The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", in.ImageTag, repo.Name)
			}
			if im != nil && im.Digest == old {
				return nil, awsproto.Errorf(http.StatusBadRequest, "ImageAlreadyExistsException",
					"Image with digest '%s' and tag '%s' already exists in the repository with name '%s' in registry with id '%s'", old, in.ImageTag, repo.Name, awsproto.AccountID)
			}
			s.mu.Lock()
		}
	}
	s.mu.Unlock()
	req, _ := http.NewRequest(http.MethodPut, "/v2/"+in.RepositoryName+"/manifests/"+ref, strings.NewReader(in.ImageManifest))
	if in.ImageManifestMediaType != "" {
		req.Header.Set("Content-Type", in.ImageManifestMediaType)
	}
	rec := &recorder{header: http.Header{}}
	s.putManifest(rec, req, in.RepositoryName, ref)
	if rec.status != http.StatusCreated {
		var body struct {
			Errors []struct{ Code, Message string } `json:"errors"`
		}
		_ = json.Unmarshal(rec.body.Bytes(), &body)
		code, msg := "", rec.body.String()
		if len(body.Errors) > 0 {
			code, msg = body.Errors[0].Code, body.Errors[0].Message
		}
		switch code {
		case "TAG_INVALID":
			if strings.Contains(msg, "immutable") {
				return nil, awsproto.Errorf(http.StatusBadRequest, "ImageTagAlreadyExistsException", "%s", msg)
			}
			return nil, errInvalid("%s", msg)
		case "MANIFEST_BLOB_UNKNOWN":
			return nil, awsproto.Errorf(http.StatusBadRequest, "LayersNotFoundException", "%s", msg)
		case "NAME_UNKNOWN":
			return nil, errRepoNotFound(in.RepositoryName)
		default:
			return nil, errInvalid("%s", msg)
		}
	}
	digest := rec.header.Get("Docker-Content-Digest")
	id := map[string]string{"imageDigest": digest}
	if in.ImageTag != "" {
		id["imageTag"] = in.ImageTag
	}
	return map[string]any{"image": map[string]any{
		"registryId": awsproto.AccountID, "repositoryName": in.RepositoryName, "imageId": id,
		"imageManifest": in.ImageManifest, "imageManifestMediaType": in.ImageManifestMediaType,
	}}, nil
}
