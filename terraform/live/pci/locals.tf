locals {
  ports = {
    edge    = 8080
    vault   = 8084
    transit = 8200
    metrics = 9100
  }

  # Prometheus-to-CloudWatch names the alarms read (ops/prometheus/alerts.yml has the same rules).
  cluster_name = "strongroom-pci"
}
