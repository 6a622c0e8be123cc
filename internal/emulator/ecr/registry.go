package ecr

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

// tokenTTL is how long ECR's authorization tokens last.
const tokenTTL = 12 * time.Hour

// maxManifest is ECR's manifest size limit.
const maxManifest = 4 << 20

var (
	tagRE    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	digestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

// password mints a registry password valid until exp: the expiry and its
// HMAC, so tokens survive a restart that keeps the key.
func (s *Service) password(exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(e))
	return e + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

type authResult int

const (
	authOK authResult = iota
	authInvalid
	authExpired
)

func (s *Service) checkPassword(p string) authResult {
	e, sig, ok := strings.Cut(p, ".")
	if !ok {
		return authInvalid
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(e))
	want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return authInvalid
	}
	exp, err := strconv.ParseInt(e, 10, 64)
	if err != nil {
		return authInvalid
	}
	if time.Now().Unix() >= exp {
		return authExpired
	}
	return authOK
}

// PullAuth returns credentials valid for the registry, for the emulator's own pulls.
func (s *Service) PullAuth() (username, password string) {
	return "AWS", s.password(time.Now().Add(tokenTTL))
}

// newRegistryAPI is the registry's table: the OCI distribution endpoints,
// named as the distribution spec names them, all forwarded to serveRegistry
// (authentication, ECR's rules, then the registry library). The table is
// what the router, the request log and fault injection go by.
func (s *Service) newRegistryAPI() *awsproto.API {
	serve := awsproto.Forward(http.HandlerFunc(s.serveRegistry))
	return &awsproto.API{
		Name:     "registry",
		Protocol: awsproto.OCIDistribution,
		Operations: []awsproto.Operation{
			{Name: "Ping", HTTP: "GET /v2/", Handler: serve},
			{Name: "Catalog", HTTP: "GET /v2/_catalog", Handler: serve},
			{Name: "StartUpload", HTTP: "POST /v2/{name+}/blobs/uploads/", Handler: serve},
			{Name: "UploadStatus", HTTP: "GET /v2/{name+}/blobs/uploads/{reference}", Handler: serve},
			{Name: "UploadChunk", HTTP: "PATCH /v2/{name+}/blobs/uploads/{reference}", Handler: serve},
			{Name: "CompleteUpload", HTTP: "PUT /v2/{name+}/blobs/uploads/{reference}", Handler: serve},
			{Name: "CancelUpload", HTTP: "DELETE /v2/{name+}/blobs/uploads/{reference}", Handler: serve},
			{Name: "GetBlob", HTTP: "GET /v2/{name+}/blobs/{digest}", Handler: serve},
			{Name: "HeadBlob", HTTP: "HEAD /v2/{name+}/blobs/{digest}", Handler: serve},
			{Name: "DeleteBlob", HTTP: "DELETE /v2/{name+}/blobs/{digest}", Handler: serve},
			{Name: "GetManifest", HTTP: "GET /v2/{name+}/manifests/{reference}", Handler: serve},
			{Name: "HeadManifest", HTTP: "HEAD /v2/{name+}/manifests/{reference}", Handler: serve},
			{Name: "PutManifest", HTTP: "PUT /v2/{name+}/manifests/{reference}", Handler: serve},
			{Name: "DeleteManifest", HTTP: "DELETE /v2/{name+}/manifests/{reference}", Handler: serve},
			{Name: "ListTags", HTTP: "GET /v2/{name+}/tags/list", Handler: serve},
			{Name: "ListReferrers", HTTP: "GET /v2/{name+}/referrers/{digest}", Handler: serve},
		},
		Unknown: func(string) *awsproto.Error {
			return &awsproto.Error{Status: http.StatusMethodNotAllowed, Code: "UNSUPPORTED", Message: "The operation is unsupported."}
		},
		Throttle: &awsproto.Error{Status: http.StatusTooManyRequests, Code: "TOOMANYREQUESTS", Message: "too many requests"},
		Failure:  &awsproto.Error{Status: http.StatusInternalServerError, Code: "UNKNOWN", Message: "internal error"},
		// Docker and the registry client have retry rules of their own
		// that AWS's do not describe.
		FaultsOnlyWhenNamed: true,
	}
}

// regError writes an error in the distribution spec's shape.
func regError(w http.ResponseWriter, status int, code, message string) {
	(&awsproto.Error{Status: status, Code: code, Message: message}).Write(w, nil, awsproto.OCIDistribution)
}

func notFoundMessage(name string) string {
	return fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", name, awsproto.AccountID)
}

func (s *Service) serveRegistry(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	user, pass, ok := r.BasicAuth()
	res := authInvalid
	if ok && user == "AWS" {
		res = s.checkPassword(pass)
	}
	switch res {
	case authExpired:
		regError(w, http.StatusForbidden, "DENIED", "Your authorization token has expired. Reauthenticate and try again.")
		return
	case authInvalid:
		// The challenge makes the Docker engine retry with the credentials it holds.
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm="http://%s/",service="ecr.amazonaws.com"`, s.host(r)))
		regError(w, http.StatusUnauthorized, "UNAUTHORIZED", "Not Authorized")
		return
	}

	s.mu.Lock()
	reg := s.reg
	s.mu.Unlock()

	name, kind, ref := parseV2Path(r.URL.Path)
	if kind == "" {
		reg.ServeHTTP(w, r)
		return
	}
	s.mu.Lock()
	repo := s.repos[name]
	empty := repo != nil && len(repo.Images) == 0
	s.mu.Unlock()
	if repo == nil {
		regError(w, http.StatusNotFound, "NAME_UNKNOWN", notFoundMessage(name))
		return
	}

	switch {
	case kind == "manifests" && r.Method == http.MethodPut:
		s.putManifest(w, r, name, ref)
	case kind == "manifests" && r.Method == http.MethodDelete:
		s.deleteManifest(w, name, ref)
	case kind == "manifests" && empty && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		regError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", fmt.Sprintf("Requested image not found: %s", ref))
	case kind == "tags" && empty && r.Method == http.MethodGet:
		// The library knows no repository without manifests; ECR lists none.
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"name": name, "tags": []string{}})
	default:
		reg.ServeHTTP(w, r)
	}
}

// parseV2Path splits /v2/<name>/<kind>/<ref>. kind is manifests, blobs,
// uploads, tags or referrers; "" for the base and the catalog.
func parseV2Path(p string) (name, kind, ref string) {
	rest := strings.TrimPrefix(p, "/v2/")
	if rest == p || rest == "" {
		return "", "", ""
	}
	el := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	n := len(el)
	switch {
	case n >= 4 && el[n-3] == "blobs" && el[n-2] == "uploads":
		return strings.Join(el[:n-3], "/"), "uploads", el[n-1]
	case n >= 3 && el[n-2] == "blobs" && el[n-1] == "uploads":
		return strings.Join(el[:n-2], "/"), "uploads", ""
	case n >= 3:
		switch el[n-2] {
		case "manifests", "blobs", "tags", "referrers":
			return strings.Join(el[:n-2], "/"), el[n-2], el[n-1]
		}
	}
	return "", "", ""
}

// manifestType picks the media type from the manifest's own field, then
// the Content-Type header.
func manifestType(contentType string, body []byte) types.MediaType {
	var probe struct {
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(body, &probe) == nil && probe.MediaType != "" {
		return types.MediaType(probe.MediaType)
	}
	ct, _, _ := strings.Cut(contentType, ";")
	return types.MediaType(strings.TrimSpace(ct))
}

// parseImage reads a pushed manifest into an image record and lists the
// blobs it needs.
func parseImage(mt types.MediaType, body []byte) (*image, []v1.Hash, error) {
	sum := sha256.Sum256(body)
	im := &image{Digest: "sha256:" + hex.EncodeToString(sum[:]), MediaType: string(mt), Manifest: body}
	switch mt {
	case types.DockerManifestSchema2, types.OCIManifestSchema1:
		m, err := v1.ParseManifest(bytes.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		if m.SchemaVersion != 2 {
			return nil, nil, fmt.Errorf("schemaVersion %d is not supported", m.SchemaVersion)
		}
		im.ConfigType = string(m.Config.MediaType)
		blobs := []v1.Hash{m.Config.Digest}
		im.Size = m.Config.Size
		for _, l := range m.Layers {
			im.Size += l.Size
			if l.MediaType.IsDistributable() {
				blobs = append(blobs, l.Digest)
			}
		}
		return im, blobs, nil
	case types.DockerManifestList, types.OCIImageIndex:
		idx, err := v1.ParseIndexManifest(bytes.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		for _, d := range idx.Manifests {
			im.Refs = append(im.Refs, d.Digest.String())
			im.Size += d.Size
		}
		return im, nil, nil
	}
	return nil, nil, fmt.Errorf("media type %q is not supported", mt)
}

func (s *Service) putManifest(w http.ResponseWriter, r *http.Request, name, ref string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxManifest+1))
	if err != nil {
		regError(w, http.StatusBadRequest, "MANIFEST_INVALID", err.Error())
		return
	}
	if len(body) > maxManifest {
		regError(w, http.StatusBadRequest, "MANIFEST_INVALID", "manifest is larger than 4 MiB")
		return
	}
	mt := manifestType(r.Header.Get("Content-Type"), body)
	im, blobs, err := parseImage(mt, body)
	if err != nil {
		regError(w, http.StatusBadRequest, "MANIFEST_INVALID", "manifest invalid: "+err.Error())
		return
	}
	isDigest := strings.Contains(ref, ":")
	if isDigest && ref != im.Digest {
		regError(w, http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("the manifest digest %s does not match the reference %s", im.Digest, ref))
		return
	}
	if !isDigest && !tagRE.MatchString(ref) {
		regError(w, http.StatusBadRequest, "TAG_INVALID", fmt.Sprintf("invalid tag %q", ref))
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if stat, ok := s.blobs.(registry.BlobStatHandler); ok {
		for _, h := range blobs {
			if _, err := stat.Stat(r.Context(), name, h); err != nil {
				regError(w, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry: "+h.String())
				return
			}
		}
	}
	repo := s.repos[name]
	if repo == nil { // deleted since the check above
		regError(w, http.StatusNotFound, "NAME_UNKNOWN", notFoundMessage(name))
		return
	}
	for _, d := range im.Refs {
		if repo.Images[d] == nil {
			regError(w, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", fmt.Sprintf("manifest %s referenced by the index is not in the repository", d))
			return
		}
	}
	// Real ECR refuses any push to an existing tag of an immutable
	// repository, even of the digest it already names
	// (github.com/aws/containers-roadmap/issues/2179).
	if !isDigest && strings.HasPrefix(repo.TagMutability, "IMMUTABLE") {
		if _, ok := repo.ImageTags[ref]; ok {
			regError(w, http.StatusBadRequest, "TAG_INVALID", fmt.Sprintf("The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", ref, name))
			return
		}
	}
	rec := s.regDo(http.MethodPut, name, ref, string(mt), body)
	if rec.status != http.StatusCreated {
		rec.copyTo(w)
		return
	}
	if old := repo.Images[im.Digest]; old != nil {
		im.PushedAt = old.PushedAt
	} else {
		im.PushedAt = time.Now().UTC()
	}
	repo.Images[im.Digest] = im
	if !isDigest {
		repo.ImageTags[ref] = im.Digest
	}
	s.save()
	w.Header().Set("Docker-Content-Digest", im.Digest)
	w.Header().Set("Location", "/v2/"+name+"/manifests/"+im.Digest)
	w.WriteHeader(http.StatusCreated)
}

func (s *Service) deleteManifest(w http.ResponseWriter, name, ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.repos[name]
	if repo == nil {
		regError(w, http.StatusNotFound, "NAME_UNKNOWN", notFoundMessage(name))
		return
	}
	var f *failure
	if strings.Contains(ref, ":") {
		_, f = s.deleteDigestLocked(repo, ref)
	} else {
		_, f = s.untagLocked(repo, ref)
	}
	if f != nil {
		status := http.StatusNotFound
		if f.FailureCode != "ImageNotFound" {
			status = http.StatusBadRequest
		}
		regError(w, status, "MANIFEST_UNKNOWN", f.FailureReason)
		return
	}
	s.save()
	w.WriteHeader(http.StatusAccepted)
}

// referencedBy returns the indexes in repo that list digest, except skip.
func referencedBy(repo *repository, digest, skip string) []string {
	var out []string
	for d, im := range repo.Images {
		if d == skip {
			continue
		}
		for _, r := range im.Refs {
			if r == digest {
				out = append(out, d)
			}
		}
	}
	return out
}

// deleteDigestLocked deletes an image and all its tags.
func (s *Service) deleteDigestLocked(repo *repository, digest string) ([]imageID, *failure) {
	if !validDigest(digest) {
		return nil, &failure{ImageID: imageID{ImageDigest: digest}, FailureCode: "InvalidImageDigest",
			FailureReason: "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"}
	}
	if repo.Images[digest] == nil {
		return nil, &failure{ImageID: imageID{ImageDigest: digest}, FailureCode: "ImageNotFound", FailureReason: "Requested image not found"}
	}
	if refs := referencedBy(repo, digest, ""); len(refs) > 0 {
		return nil, &failure{ImageID: imageID{ImageDigest: digest}, FailureCode: "ImageReferencedByManifestList",
			FailureReason: fmt.Sprintf("Requested image referenced by manifest list: %v", refs)}
	}
	var ids []imageID
	for _, t := range repo.tagsOf(digest) {
		s.regDo(http.MethodDelete, repo.Name, t, "", nil)
		delete(repo.ImageTags, t)
		ids = append(ids, imageID{ImageDigest: digest, ImageTag: t})
	}
	if len(ids) == 0 {
		ids = append(ids, imageID{ImageDigest: digest})
	}
	s.regDo(http.MethodDelete, repo.Name, digest, "", nil)
	delete(repo.Images, digest)
	return ids, nil
}

// untagLocked removes a tag; as in ECR, removing an image's last tag deletes
// the image.
func (s *Service) untagLocked(repo *repository, tag string) ([]imageID, *failure) {
	digest, ok := repo.ImageTags[tag]
	if !ok {
		return nil, &failure{ImageID: imageID{ImageTag: tag}, FailureCode: "ImageNotFound", FailureReason: "Requested image not found"}
	}
	last := len(repo.tagsOf(digest)) == 1
	if last {
		if refs := referencedBy(repo, digest, ""); len(refs) > 0 {
			return nil, &failure{ImageID: imageID{ImageTag: tag}, FailureCode: "ImageReferencedByManifestList",
				FailureReason: fmt.Sprintf("Requested image referenced by manifest list: %v", refs)}
		}
	}
	s.regDo(http.MethodDelete, repo.Name, tag, "", nil)
	delete(repo.ImageTags, tag)
	if last {
		s.regDo(http.MethodDelete, repo.Name, digest, "", nil)
		delete(repo.Images, digest)
	}
	return []imageID{{ImageDigest: digest, ImageTag: tag}}, nil
}

var ecrDigestRE = regexp.MustCompile(`^[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+$`)

func validDigest(d string) bool { return ecrDigestRE.MatchString(d) }

// recorder captures the registry library's answer to an internal request.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) copyTo(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body.Bytes())
}

// regDo sends a manifest request to the registry library, which keeps
// manifests only in memory: this mirrors ECR's state into it.
func (s *Service) regDo(method, name, ref, contentType string, body []byte) *recorder {
	req, _ := http.NewRequest(method, "/v2/"+name+"/manifests/"+ref, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := &recorder{header: http.Header{}}
	s.reg.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec
}

func (s *Service) regPut(name, ref string, im *image) error {
	if rec := s.regDo(http.MethodPut, name, ref, im.MediaType, im.Manifest); rec.status != http.StatusCreated {
		return fmt.Errorf("ecr: restoring %s:%s: registry answered %d %s", name, ref, rec.status, rec.body.String())
	}
	return nil
}
