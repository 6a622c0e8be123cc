package ecr

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

const targetPrefix = "AmazonEC2ContainerRegistry_V20150921."

// newAPI is ECR's table of operations: the awsJson1_1 calls the emulated ECR
// answers, each matched by X-Amz-Target (targetPrefix + Name), its input
// the JSON body. A new call is a row here plus its handler.
func (s *Service) newAPI() *awsproto.API {
	return &awsproto.API{
		Name:         "ecr",
		Protocol:     awsproto.AWSJSON11,
		SigningNames: []string{"ecr", "api.ecr"},
		TargetPrefix: targetPrefix,
		Operations: []awsproto.Operation{
			{Name: "CreateRepository", Handler: awsproto.Handle(s.createRepository)},
			{Name: "DescribeRepositories", Handler: awsproto.Handle(s.describeRepositories)},
			{Name: "DeleteRepository", Handler: awsproto.Handle(s.deleteRepository)},
			{Name: "DescribeImages", Handler: awsproto.Handle(s.describeImages)},
			{Name: "ListImages", Handler: awsproto.Handle(s.listImages)},
			{Name: "BatchDeleteImage", Handler: awsproto.Handle(s.batchDeleteImage)},
			{Name: "BatchGetImage", Handler: awsproto.Handle(s.batchGetImage)},
			{Name: "GetAuthorizationToken", Handler: awsproto.Handle(s.getAuthorizationToken)},
			{Name: "PutImageTagMutability", Handler: awsproto.Handle(s.putImageTagMutability)},
			{Name: "PutImageScanningConfiguration", Handler: awsproto.Handle(s.putImageScanningConfiguration)},
			{Name: "PutImage", Handler: awsproto.Handle(s.putImage)},
			{Name: "PutLifecyclePolicy", Handler: awsproto.Handle(s.putLifecyclePolicy)},
			{Name: "GetLifecyclePolicy", Handler: awsproto.Handle(s.getLifecyclePolicy)},
			{Name: "DeleteLifecyclePolicy", Handler: awsproto.Handle(s.deleteLifecyclePolicy)},
			{Name: "TagResource", Handler: awsproto.Handle(s.tagResource)},
			{Name: "UntagResource", Handler: awsproto.Handle(s.untagResource)},
			{Name: "ListTagsForResource", Handler: awsproto.Handle(s.listTagsForResource)},
		},
		Unknown: func(asked string) *awsproto.Error {
			msg := ""
			if asked != "" {
				msg = fmt.Sprintf("The operation %s is not supported by the emulated ECR", asked)
			}
			return &awsproto.Error{Status: http.StatusBadRequest, Code: "UnknownOperationException", Message: msg}
		},
		Throttle: &awsproto.Error{Status: http.StatusBadRequest, Code: "ThrottlingException", Message: "Rate exceeded"},
		Failure:  &awsproto.Error{Status: http.StatusInternalServerError, Code: "ServerException", Message: "Internal service error"},
	}
}

// repoNameRE is ECR's repositoryName pattern; length 2–256 is checked apart.
var repoNameRE = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

func errInvalid(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidParameterException", format, a...)
}

func errRepoNotFound(name string) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusBadRequest, Code: "RepositoryNotFoundException", Message: notFoundMessage(name)}
}

func errTooManyTags() *awsproto.Error {
	return &awsproto.Error{Status: http.StatusBadRequest, Code: "TooManyTagsException", Message: "The number of tags exceeds the limit of 50."}
}

func errInvalidTag(msg string) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusBadRequest, Code: "InvalidTagParameterException", Message: msg}
}

func imageIDString(id imageID) string {
	d, t := "null", "null"
	if id.ImageDigest != "" {
		d = "'" + id.ImageDigest + "'"
	}
	if id.ImageTag != "" {
		t = "'" + id.ImageTag + "'"
	}
	return fmt.Sprintf("{imageDigest:%s, imageTag:%s}", d, t)
}

func errImageNotFound(repo string, id imageID) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "ImageNotFoundException",
		"The image with imageId %s does not exist within the repository with name '%s' in the registry with id '%s'",
		imageIDString(id), repo, awsproto.AccountID)
}

type epoch time.Time

// MarshalJSON writes epoch seconds, the awsJson1_1 timestamp format.
func (t epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(t).UnixMilli())/1000, 'f', 3, 64)), nil
}

type tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

type imageID struct {
	ImageDigest string `json:"imageDigest,omitempty"`
	ImageTag    string `json:"imageTag,omitempty"`
}

type failure struct {
	ImageID       imageID `json:"imageId"`
	FailureCode   string  `json:"failureCode"`
	FailureReason string  `json:"failureReason"`
}

type repoOut struct {
	RepositoryArn              string          `json:"repositoryArn"`
	RegistryID                 string          `json:"registryId"`
	RepositoryName             string          `json:"repositoryName"`
	RepositoryURI              string          `json:"repositoryUri"`
	CreatedAt                  epoch           `json:"createdAt"`
	ImageTagMutability         string          `json:"imageTagMutability"`
	ImageScanningConfiguration map[string]bool `json:"imageScanningConfiguration"`
	EncryptionConfiguration    map[string]any  `json:"encryptionConfiguration"`
}

func (s *Service) repoOut(r *http.Request, repo *repository) repoOut {
	enc := map[string]any{"encryptionType": repo.Encryption}
	if repo.KMSKey != "" {
		enc["kmsKey"] = repo.KMSKey
	}
	return repoOut{
		RepositoryArn:              s.repoARN(repo.Name),
		RegistryID:                 awsproto.AccountID,
		RepositoryName:             repo.Name,
		RepositoryURI:              s.repoURI(r, repo.Name),
		CreatedAt:                  epoch(repo.CreatedAt),
		ImageTagMutability:         repo.TagMutability,
		ImageScanningConfiguration: map[string]bool{"scanOnPush": repo.ScanOnPush},
		EncryptionConfiguration:    enc,
	}
}

func checkRepoName(name string) *awsproto.Error {
	if len(name) < 2 || len(name) > 256 || !repoNameRE.MatchString(name) {
		return errInvalid("Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''")
	}
	return nil
}

// checkTags applies ECR's resource tag limits.
func checkTags(tags []tag) *awsproto.Error {
	if len(tags) > 50 {
		return errTooManyTags()
	}
	for _, t := range tags {
		if t.Key == nil || len(*t.Key) < 1 || len(*t.Key) > 128 {
			return errInvalidTag("A tag key must be 1 to 128 characters long.")
		}
		if strings.HasPrefix(strings.ToLower(*t.Key), "aws:") {
			return errInvalidTag("Tag keys may not begin with the reserved prefix 'aws:'.")
		}
		if t.Value == nil || len(*t.Value) > 256 {
			return errInvalidTag("A tag value must be 0 to 256 characters long.")
		}
	}
	return nil
}

type createRepositoryIn struct {
	RepositoryName             string `json:"repositoryName"`
	Tags                       []tag  `json:"tags"`
	ImageTagMutability         string `json:"imageTagMutability"`
	ImageScanningConfiguration *struct {
		ScanOnPush bool `json:"scanOnPush"`
	} `json:"imageScanningConfiguration"`
	EncryptionConfiguration *struct {
		EncryptionType string `json:"encryptionType"`
		KMSKey         string `json:"kmsKey"`
	} `json:"encryptionConfiguration"`
}

func (s *Service) createRepository(c *awsproto.Call, in *createRepositoryIn) (any, error) {
	if e := checkRepoName(in.RepositoryName); e != nil {
		return nil, e
	}
	if e := checkTags(in.Tags); e != nil {
		return nil, e
	}
	mut := in.ImageTagMutability
	switch mut {
	case "":
		mut = "MUTABLE"
	case "MUTABLE", "IMMUTABLE":
	default:
		return nil, errInvalid("Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE]'")
	}
	repo := &repository{
		Name: in.RepositoryName, CreatedAt: time.Now().UTC(), TagMutability: mut, Encryption: "AES256",
		Tags: map[string]string{}, Images: map[string]*image{}, ImageTags: map[string]string{},
	}
	if c := in.ImageScanningConfiguration; c != nil {
		repo.ScanOnPush = c.ScanOnPush
	}
	if c := in.EncryptionConfiguration; c != nil && c.EncryptionType != "" {
		switch c.EncryptionType {
		case "AES256":
		case "KMS", "KMS_DSSE":
			repo.KMSKey = c.KMSKey
			if repo.KMSKey == "" {
				repo.KMSKey = fmt.Sprintf("arn:aws:kms:%s:%s:alias/aws/ecr", s.region, awsproto.AccountID)
			}
		default:
			return nil, errInvalid("Invalid parameter at 'encryptionType' failed to satisfy constraint: 'Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]'")
		}
		repo.Encryption = c.EncryptionType
	}
	for _, t := range in.Tags {
		repo.Tags[*t.Key] = *t.Value
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repos[repo.Name] != nil {
		return nil, awsproto.Errorf(http.StatusBadRequest, "RepositoryAlreadyExistsException",
			"The repository with name '%s' already exists in the registry with id '%s'", repo.Name, awsproto.AccountID)
	}
	s.repos[repo.Name] = repo
	s.save()
	return map[string]any{"repository": s.repoOut(c.Request, repo)}, nil
}

type describeRepositoriesIn struct {
	RepositoryNames []string `json:"repositoryNames"`
	NextToken       *string  `json:"nextToken"`
	MaxResults      *int     `json:"maxResults"`
}

// page cuts items[offset:] to at most max and returns the next token.
func page(n int, token *string, maxResults *int) (start, end int, next *string, e *awsproto.Error) {
	limit := 100
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > 1000 {
			return 0, 0, nil, errInvalid("Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value between 1 and 1000'")
		}
		limit = *maxResults
	}
	if token != nil {
		b, err := base64.RawURLEncoding.DecodeString(*token)
		off, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || off < 0 || off > n {
			return 0, 0, nil, errInvalid("Invalid parameter at 'nextToken': the token is not valid")
		}
		start = off
	}
	end = min(start+limit, n)
	if end < n {
		t := base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
		next = &t
	}
	return start, end, next, nil
}

func (s *Service) describeRepositories(c *awsproto.Call, in *describeRepositoriesIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []repoOut{}
	if len(in.RepositoryNames) > 0 {
		if in.MaxResults != nil || in.NextToken != nil {
			return nil, errInvalid("Invalid parameter: maxResults and nextToken cannot be used with repositoryNames")
		}
		for _, n := range in.RepositoryNames {
			repo := s.repos[n]
			if repo == nil {
				return nil, errRepoNotFound(n)
			}
			out = append(out, s.repoOut(c.Request, repo))
		}
		return map[string]any{"repositories": out}, nil
	}
	names := s.sortedNames()
	start, end, next, e := page(len(names), in.NextToken, in.MaxResults)
	if e != nil {
		return nil, e
	}
	for _, n := range names[start:end] {
		out = append(out, s.repoOut(c.Request, s.repos[n]))
	}
	res := map[string]any{"repositories": out}
	if next != nil {
		res["nextToken"] = *next
	}
	return res, nil
}

type deleteRepositoryIn struct {
	RepositoryName string `json:"repositoryName"`
	Force          bool   `json:"force"`
}

func (s *Service) deleteRepository(c *awsproto.Call, in *deleteRepositoryIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.repos[in.RepositoryName]
	if repo == nil {
		return nil, errRepoNotFound(in.RepositoryName)
	}
	if len(repo.Images) > 0 && !in.Force {
		return nil, awsproto.Errorf(http.StatusBadRequest, "RepositoryNotEmptyException",
			"The repository with name '%s' in registry with id '%s' cannot be deleted because it still contains images",
			repo.Name, awsproto.AccountID)
	}
	for t := range repo.ImageTags {
		s.regDo(http.MethodDelete, repo.Name, t, "", nil)
	}
	for d := range repo.Images {
		s.regDo(http.MethodDelete, repo.Name, d, "", nil)
	}
	delete(s.repos, repo.Name)
	s.save()
	return map[string]any{"repository": s.repoOut(c.Request, repo)}, nil
}

func (s *Service) repoLocked(name string) (*repository, *awsproto.Error) {
	if name == "" {
		return nil, errInvalid("Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must not be null'")
	}
	repo := s.repos[name]
	if repo == nil {
		return nil, errRepoNotFound(name)
	}
	return repo, nil
}

// sortedImages lists a repository's images, newest push first as ECR's
// console does, filtered by tag status.
func sortedImages(repo *repository, tagStatus string) []*image {
	var out []*image
	for _, im := range repo.Images {
		tagged := len(repo.tagsOf(im.Digest)) > 0
		if (tagStatus == "TAGGED" && !tagged) || (tagStatus == "UNTAGGED" && tagged) {
			continue
		}
		out = append(out, im)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].PushedAt.Equal(out[j].PushedAt) {
			return out[i].PushedAt.After(out[j].PushedAt)
		}
		return out[i].Digest < out[j].Digest
	})
	return out
}

type tagFilter struct {
	TagStatus string `json:"tagStatus"`
}

func checkTagStatus(f *tagFilter) (string, *awsproto.Error) {
	if f == nil || f.TagStatus == "" {
		return "ANY", nil
	}
	switch f.TagStatus {
	case "TAGGED", "UNTAGGED", "ANY":
		return f.TagStatus, nil
	}
	return "", errInvalid("Invalid parameter at 'filter.tagStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]'")
}

type describeImagesIn struct {
	RepositoryName string     `json:"repositoryName"`
	ImageIDs       []imageID  `json:"imageIds"`
	NextToken      *string    `json:"nextToken"`
	MaxResults     *int       `json:"maxResults"`
	Filter         *tagFilter `json:"filter"`
}

type imageDetail struct {
	RegistryID             string   `json:"registryId"`
	RepositoryName         string   `json:"repositoryName"`
	ImageDigest            string   `json:"imageDigest"`
	ImageTags              []string `json:"imageTags,omitempty"`
	ImageSizeInBytes       int64    `json:"imageSizeInBytes"`
	ImagePushedAt          epoch    `json:"imagePushedAt"`
	ImageManifestMediaType string   `json:"imageManifestMediaType"`
	ArtifactMediaType      string   `json:"artifactMediaType,omitempty"`
	ImageStatus            string   `json:"imageStatus"`
}

func detail(repo *repository, im *image) imageDetail {
	return imageDetail{
		RegistryID: awsproto.AccountID, RepositoryName: repo.Name, ImageDigest: im.Digest,
		ImageTags: repo.tagsOf(im.Digest), ImageSizeInBytes: im.Size, ImagePushedAt: epoch(im.PushedAt),
		ImageManifestMediaType: im.MediaType, ArtifactMediaType: im.ConfigType, ImageStatus: "ACTIVE",
	}
}

// findImage resolves an image id; a tag and digest given together must agree.
func findImage(repo *repository, id imageID) *image {
	d := id.ImageDigest
	if id.ImageTag != "" {
		td, ok := repo.ImageTags[id.ImageTag]
		if !ok || (d != "" && d != td) {
			return nil
		}
		d = td
	}
	return repo.Images[d]
}

func (s *Service) describeImages(_ *awsproto.Call, in *describeImagesIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, e := s.repoLocked(in.RepositoryName)
	if e != nil {
		return nil, e
	}
	status, e := checkTagStatus(in.Filter)
	if e != nil {
		return nil, e
	}
	out := []imageDetail{}
	if len(in.ImageIDs) > 0 {
		seen := map[string]bool{}
		for _, id := range in.ImageIDs {
			im := findImage(repo, id)
			if im == nil {
				return nil, errImageNotFound(repo.Name, id)
			}
			if !seen[im.Digest] {
				seen[im.Digest] = true
				out = append(out, detail(repo, im))
			}
		}
		return map[string]any{"imageDetails": out}, nil
	}
	imgs := sortedImages(repo, status)
	start, end, next, e := page(len(imgs), in.NextToken, in.MaxResults)
	if e != nil {
		return nil, e
	}
	for _, im := range imgs[start:end] {
		out = append(out, detail(repo, im))
	}
	res := map[string]any{"imageDetails": out}
	if next != nil {
		res["nextToken"] = *next
	}
	return res, nil
}

type listImagesIn struct {
	RepositoryName string     `json:"repositoryName"`
	NextToken      *string    `json:"nextToken"`
	MaxResults     *int       `json:"maxResults"`
	Filter         *tagFilter `json:"filter"`
}

func (s *Service) listImages(_ *awsproto.Call, in *listImagesIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, e := s.repoLocked(in.RepositoryName)
	if e != nil {
		return nil, e
	}
	status, e := checkTagStatus(in.Filter)
	if e != nil {
		return nil, e
	}
	ids := []imageID{}
	for _, im := range sortedImages(repo, status) {
		tags := repo.tagsOf(im.Digest)
		if len(tags) == 0 {
			ids = append(ids, imageID{ImageDigest: im.Digest})
		}
		for _, t := range tags {
			ids = append(ids, imageID{ImageDigest: im.Digest, ImageTag: t})
		}
	}
	start, end, next, e := page(len(ids), in.NextToken, in.MaxResults)
	if e != nil {
		return nil, e
	}
	res := map[string]any{"imageIds": ids[start:end]}
	if next != nil {
		res["nextToken"] = *next
	}
	return res, nil
}

type batchImagesIn struct {
	RepositoryName     string    `json:"repositoryName"`
	ImageIDs           []imageID `json:"imageIds"`
	AcceptedMediaTypes []string  `json:"acceptedMediaTypes"`
}

func checkImageIDs(ids []imageID) *awsproto.Error {
	if len(ids) < 1 || len(ids) > 100 {
		return errInvalid("Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length between 1 and 100'")
	}
	return nil
}

func (s *Service) batchDeleteImage(_ *awsproto.Call, in *batchImagesIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, e := s.repoLocked(in.RepositoryName)
	if e != nil {
		return nil, e
	}
	if e := checkImageIDs(in.ImageIDs); e != nil {
		return nil, e
	}
	deleted, failures := []imageID{}, []failure{}
	for _, id := range in.ImageIDs {
		var ids []imageID
		var f *failure
		switch {
		case id.ImageDigest == "" && id.ImageTag == "":
			f = &failure{ImageID: id, FailureCode: "MissingDigestAndTag", FailureReason: "Invalid request parameters: both tag and digest cannot be null"}
		case id.ImageDigest != "" && id.ImageTag != "":
			if d, ok := repo.ImageTags[id.ImageTag]; ok && d != id.ImageDigest {
				f = &failure{ImageID: id, FailureCode: "ImageTagDoesNotMatchDigest", FailureReason: "Invalid request parameters: given tag does not map to the given digest"}
			} else {
				ids, f = s.untagLocked(repo, id.ImageTag)
			}
		case id.ImageDigest != "":
			ids, f = s.deleteDigestLocked(repo, id.ImageDigest)
		default:
			ids, f = s.untagLocked(repo, id.ImageTag)
		}
		if f != nil {
			f.ImageID = id
			failures = append(failures, *f)
			continue
		}
		deleted = append(deleted, ids...)
	}
	s.save()
	return map[string]any{"imageIds": deleted, "failures": failures}, nil
}

func (s *Service) batchGetImage(_ *awsproto.Call, in *batchImagesIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, e := s.repoLocked(in.RepositoryName)
	if e != nil {
		return nil, e
	}
	if e := checkImageIDs(in.ImageIDs); e != nil {
		return nil, e
	}
	type imageOut struct {
		RegistryID             string  `json:"registryId"`
		RepositoryName         string  `json:"repositoryName"`
		ImageID                imageID `json:"imageId"`
		ImageManifest          string  `json:"imageManifest"`
		ImageManifestMediaType string  `json:"imageManifestMediaType"`
	}
	images, failures := []imageOut{}, []failure{}
	for _, id := range in.ImageIDs {
		if id.ImageDigest == "" && id.ImageTag == "" {
			failures = append(failures, failure{ImageID: id, FailureCode: "MissingDigestAndTag", FailureReason: "Invalid request parameters: both tag and digest cannot be null"})
			continue
		}
		im := findImage(repo, id)
		if im == nil {
			failures = append(failures, failure{ImageID: id, FailureCode: "ImageNotFound", FailureReason: "Requested image not found"})
			continue
		}
		if len(in.AcceptedMediaTypes) > 0 && !contains(in.AcceptedMediaTypes, im.MediaType) {
			failures = append(failures, failure{ImageID: id, FailureCode: "UnsupportedImageType", FailureReason: "Image format is not supported by the accepted media types"})
			continue
		}
		images = append(images, imageOut{
			RegistryID: awsproto.AccountID, RepositoryName: repo.Name,
			ImageID:       imageID{ImageDigest: im.Digest, ImageTag: id.ImageTag},
			ImageManifest: string(im.Manifest), ImageManifestMediaType: im.MediaType,
		})
	}
	return map[string]any{"images": images, "failures": failures}, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Service) getAuthorizationToken(c *awsproto.Call, _ *struct{}) (any, error) {
	exp := time.Now().Add(tokenTTL)
	token := base64.StdEncoding.EncodeToString([]byte("AWS:" + s.password(exp)))
	return map[string]any{"authorizationData": []map[string]any{{
		"authorizationToken": token,
		"expiresAt":          epoch(exp),
		"proxyEndpoint":      "http://" + s.host(c.Request),
	}}}, nil
}

type putImageTagMutabilityIn struct {
	RepositoryName     string `json:"repositoryName"`
	ImageTagMutability string `json:"imageTagMutability"`
}

func (s *Service) putImageTagMutability(_ *awsproto.Call, in *putImageTagMutabilityIn) (any, error) {
	if in.ImageTagMutability != "MUTABLE" && in.ImageTagMutability != "IMMUTABLE" {
		return nil, errInvalid("Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE]'")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, e := s.repoLocked(in.RepositoryName)
	if e != nil {
		return nil, e
	}
	repo.TagMutability = in.ImageTagMutability
	s.save()
	return map[string]any{"registryId": awsproto.AccountID, "repositoryName": repo.Name, "imageTagMutability": repo.TagMutability}, nil
}

// repoForARN finds the repository an ARN names.
func (s *Service) repoForARN(arn string) (*repository, *awsproto.Error) {
	prefix := fmt.Sprintf("arn:aws:ecr:%s:%s:repository/", s.region, awsproto.AccountID)
	name, ok := strings.CutPrefix(arn, prefix)
	if !ok || name == "" {
		return nil, errInvalid("Invalid parameter at 'resourceArn' failed to satisfy constraint: 'must be the ARN of a repository in this registry (%s<name>)'", prefix)
	}
	return s.repoLocked(name)
}

type tagResourceIn struct {
	ResourceArn string `json:"resourceArn"`
	Tags        []tag  `json:"tags"`
}

func (s *Service) tagResource(_ *awsproto.Call, in *tagResourceIn) (any, error) {
	if e := checkTags(in.Tags); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, e := s.repoForARN(in.ResourceArn)
	if e != nil {
		return nil, e
	}
	n := len(repo.Tags)
	for _, t := range in.Tags {
		if _, ok := repo.Tags[*t.Key]; !ok {
			n++
		}
	}
	if n > 50 {
		return nil, errTooManyTags()
	}
	for _, t := range in.Tags {
		repo.Tags[*t.Key] = *t.Value
	}
	s.save()
	return map[string]any{}, nil
}

type untagResourceIn struct {
	ResourceArn string   `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

func (s *Service) untagResource(_ *awsproto.Call, in *untagResourceIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, e := s.repoForARN(in.ResourceArn)
	if e != nil {
		return nil, e
	}
	for _, k := range in.TagKeys {
		delete(repo.Tags, k)
	}
	s.save()
	return map[string]any{}, nil
}

type listTagsIn struct {
	ResourceArn string `json:"resourceArn"`
}

func (s *Service) listTagsForResource(_ *awsproto.Call, in *listTagsIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, e := s.repoForARN(in.ResourceArn)
	if e != nil {
		return nil, e
	}
	keys := make([]string, 0, len(repo.Tags))
	for k := range repo.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tags := []tag{}
	for _, k := range keys {
		v := repo.Tags[k]
		tags = append(tags, tag{Key: &k, Value: &v})
	}
	return map[string]any{"tags": tags}, nil
}
