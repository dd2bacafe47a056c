locals {
  ports = {
    router  = 8081
    api     = 8082
    fraud   = 8085
    metrics = 9100
  }

  cluster_name = "strongroom-app"
  stacks       = toset(["test", "live"])
}
