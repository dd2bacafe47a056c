# The PCI account only. Terraform enters it through one role the security team owns;
# no credential of the app account can act here, and this root never names the app
# account's provider: what it needs from there comes in as variables.
provider "aws" {
  alias               = "pci"
  region              = var.region
  allowed_account_ids = [var.pci_account_id]

  assume_role {
    role_arn     = "arn:aws:iam::${var.pci_account_id}:role/strongroom-terraform"
    session_name = "strongroom-terraform-pci"
  }

  default_tags {
    tags = {
      project    = "strongroom"
      zone       = "pci"
      managed-by = "terraform"
    }
  }
}

provider "random" {}
