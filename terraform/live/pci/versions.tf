terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }

  # State in the PCI account's own bucket, encrypted, locked by S3 itself:
  # terraform init -backend-config=backend.hcl (bucket, key, region, kms_key_id).
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}
