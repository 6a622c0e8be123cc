variable "role_arn" {
  type        = string
  description = "ARN of the Lambda execution role (it must trust lambda.amazonaws.com)."
}

variable "bucket" {
  type        = string
  description = "Existing S3 bucket for the artifact store."
}

variable "name" {
  type        = string
  default     = "numbers"
  description = "Name of the engine the module makes; its ECR repository is aqueduct/<name>."
}

variable "base_image" {
  type        = string
  default     = "aqueduct-local/python:3.11"
  description = "Base image of every operator. The default, built by `make base-image`, runs offline; public.ecr.aws/lambda/python:3.12 on AWS."
}

variable "n" {
  type        = number
  default     = 4
  description = "How many numbers load makes."
}
