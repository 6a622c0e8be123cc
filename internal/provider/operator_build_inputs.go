package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// operatorBuildInputs are the operator's attributes that feed the image
// build beyond the source itself. Embedded in operatorModel.
type operatorBuildInputs struct {
	RequirementsFile types.String `tfsdk:"requirements_file"`
}

// buildInputAttributes is the schema of operatorBuildInputs.
func buildInputAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"requirements_file": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "A pip requirements file inside `source`, by a path relative to it, e.g. `\"requirements.txt\"`, installed into the image as `requirements` would be. " +
				"Its content is part of `source_hash`, so editing it rebuilds the image and gives the operator a new `artifact` (its results are computed again). " +
				"It must be a regular file that resolves inside `source`, also through symbolic links; `..` out of it, an absolute path or a missing file fail at plan time. " +
				"Includes (`-r`, `-c`) and relative paths inside it are not followed. Conflicts with `requirements`.",
			Validators: []validator.String{
				stringvalidator.LengthAtLeast(1),
				stringvalidator.ConflictsWith(path.MatchRoot("requirements")),
			},
		},
	}
}
