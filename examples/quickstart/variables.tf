variable "role_arn" {
  type        = string
  description = "ARN of the Lambda execution role. It must trust lambda.amazonaws.com and may write logs and the artifact bucket (see the provider docs for a least-privilege policy)."
}

variable "orchestration_role_arn" {
  type        = string
  default     = null
  description = "ARN of a role that Step Functions and EventBridge Scheduler may assume (see the provider docs). With it, runs execute on Step Functions; without it, in terraform."
}

variable "schedule" {
  type        = string
  default     = null
  description = "When set, a schedule expression such as cron(0 6 * * ? *) or at(2027-01-01T06:00:00) on which the pipeline retrains unattended; needs orchestration_role_arn."
}

variable "bucket" {
  type        = string
  description = "Existing S3 bucket for the artifact store: manifests, run records and operator outputs."
}

variable "name" {
  type        = string
  default     = "quickstart"
  description = "Name of the engine; its ECR repository is aqueduct/<name>."
}

variable "base_image" {
  type        = string
  default     = "aqueduct-local/python-ml:3.11"
  nullable    = true
  description = <<-EOT
    Base image of every operator. The default, built by `make base-image-ml`, has Debian's
    NumPy and scikit-learn and runs offline. Set it to null or "" for AWS's Lambda Python
    image (public.ecr.aws/lambda/python), with scikit-learn installed by pip.
  EOT
}

variable "scikit_learn_version" {
  type        = string
  default     = "1.5.2"
  description = "scikit-learn installed by pip on AWS's Lambda Python image; unused with a base image that has it."
}

variable "test_size" {
  type        = number
  default     = 0.3
  description = "Share of the samples held out for evaluation."
}

variable "seed" {
  type        = number
  default     = 7
  description = "Random seed of the split and the decision tree."
}
