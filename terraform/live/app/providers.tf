# The app account only (developers' account). Terraform enters it through its own role;
# this root never names the PCI account's provider: the link to the vault comes in as
# variables (the vault's endpoint service name), so nothing here can reach into PCI.
provider "aws" {
  alias               = "app"
  region              = var.region
  allowed_account_ids = [var.app_account_id]

  assume_role {
    role_arn     = "arn:aws:iam::${var.app_account_id}:role/strongroom-terraform"
    session_name = "strongroom-terraform-app"
  }

  default_tags {
    tags = {
      project    = "strongroom"
      zone       = "app"
      managed-by = "terraform"
    }
  }
}

provider "random" {}
