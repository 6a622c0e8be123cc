package ecr

import (
	"bytes"
	"fmt"
	"net"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// lambdaLayerTypes are the layer media types Lambda (and the Docker 20.10
// engine that runs the emulated functions) can unpack.
var lambdaLayerTypes = map[types.MediaType]bool{
	types.DockerLayer:             true,
	types.DockerUncompressedLayer: true,
	types.OCILayer:                true,
	types.OCIUncompressedLayer:    true,
}

// ResolveImage takes an ImageUri as Lambda receives it, "<host>/<repo>:<tag>"
// or "<host>/<repo>@sha256:<hex>", and returns the repository and manifest
// digest. Its errors are worded for Lambda's InvalidParameterValueException.
func (s *Service) ResolveImage(imageURI string) (repo, digest string, err error) {
	notExist := fmt.Errorf("Source image %s does not exist. Provide a valid source image.", imageURI)
	host, rest, ok := strings.Cut(imageURI, "/")
	if !ok || rest == "" || !s.isOwnHost(host) {
		return "", "", fmt.Errorf("Source image %s is not valid. Provide a valid source image.", imageURI)
	}
	name, ref := rest, "latest"
	if n, d, ok := strings.Cut(rest, "@"); ok {
		name, ref = n, d
		// "repo:tag@digest": the digest wins, as in Docker.
		if i := strings.LastIndex(n, ":"); i > strings.LastIndex(n, "/") {
			name = n[:i]
		}
		if !digestRE.MatchString(d) {
			return "", "", fmt.Errorf("Source image %s is not valid. Provide a valid source image.", imageURI)
		}
	} else if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		name, ref = rest[:i], rest[i+1:]
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[name]
	if r == nil {
		return "", "", notExist
	}
	if !strings.Contains(ref, ":") {
		d, ok := r.ImageTags[ref]
		if !ok {
			return "", "", notExist
		}
		ref = d
	}
	im := r.Images[ref]
	if im == nil {
		return "", "", notExist
	}
	if !lambdaSupported(im) {
		return "", "", fmt.Errorf("The image manifest, config or layer media type for the source image %s is not supported.", imageURI)
	}
	return name, im.Digest, nil
}

// lambdaSupported accepts a single-platform image whose config and layers
// Lambda can run; it rejects indexes, as Lambda does.
func lambdaSupported(im *image) bool {
	mt := types.MediaType(im.MediaType)
	if mt != types.DockerManifestSchema2 && mt != types.OCIManifestSchema1 {
		return false
	}
	m, err := v1.ParseManifest(bytes.NewReader(im.Manifest))
	if err != nil {
		return false
	}
	if m.Config.MediaType != types.DockerConfigJSON && m.Config.MediaType != types.OCIConfigJSON {
		return false
	}
	for _, l := range m.Layers {
		if !lambdaLayerTypes[l.MediaType] {
			return false
		}
	}
	return true
}

// isOwnHost tells whether an image host names this registry. Loopback
// spellings of the same port are the same registry.
func (s *Service) isOwnHost(h string) bool {
	own := s.host(nil)
	if own == "" || h == own {
		return true
	}
	h1, p1, err1 := net.SplitHostPort(h)
	h2, p2, err2 := net.SplitHostPort(own)
	if err1 != nil || err2 != nil || p1 != p2 {
		return false
	}
	return isLoopback(h1) && isLoopback(h2)
}

func isLoopback(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
