package emulatortest

import (
	"context"
	"strings"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// RemoveLocalImages removes the local Docker tags that builds pushed to the
// registry at addr (an emulator's Addr), so test runs do not fill the
// engine. It is best effort: a missing engine removes nothing.
func RemoveLocalImages(addr string) {
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return
	}
	defer docker.Close()
	ctx := context.Background()
	images, err := docker.ImageList(ctx, image.ListOptions{})
	if err != nil {
		return
	}
	for _, img := range images {
		for _, tag := range img.RepoTags {
			if strings.HasPrefix(tag, addr+"/") {
				_, _ = docker.ImageRemove(ctx, tag, image.RemoveOptions{PruneChildren: true})
			}
		}
	}
}
