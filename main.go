package main

import (
	"context"
	"flag"
	"fmt"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/provider"
)

// version and commit are set at build time by goreleaser (and make build)
// with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "none"
)

func main() {
	var debug, showVersion bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.BoolVar(&showVersion, "version", false, "print the version and commit, then exit")
	flag.Parse()

	if showVersion {
		fmt.Printf("terraform-provider-aqueduct %s (commit %s)\n", version, commit)
		return
	}

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/aqueduct/aqueduct",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
