locals {
  ports = {
    edge    = 8080
    vault   = 8084
    transit = 8200
    # Request forwarding between Transit's tasks (HA standby to active).
    transit_cluster = 8201
    metrics         = 9100
  }

  # Prometheus-to-CloudWatch names the alarms read (ops/prometheus/alerts.yml has the same rules).
  cluster_name = "strongroom-pci"

  # The load balancer reuses an idle connection to an edge task for this long; the edge
  # keeps one open longer, so it never closes one the load balancer is sending on (a 502).
  lb_idle_timeout = 60
}
