# One Strongroom service on ECS Fargate: at least two tasks in different zones, a
# read-only root file system, no shell into the tasks, logs encrypted under a customer
# key, and autoscaling on CPU and on the service's own queue metrics.

data "aws_region" "current" {}

locals {
  # The collector scrapes the service's /metrics on loopback and writes CloudWatch
  # embedded-metric logs under the Strongroom namespace: the metrics the alarms and the
  # queue-depth scaling read.
  collector_config = yamlencode({
    receivers = {
      prometheus = {
        config = {
          scrape_configs = [{
            job_name        = var.name
            scrape_interval = "30s"
            static_configs  = [{ targets = ["127.0.0.1:${var.metrics_port}"] }]
          }]
        }
      }
    }
    exporters = {
      awsemf = {
        namespace                        = "Strongroom"
        log_group_name                   = aws_cloudwatch_log_group.this.name
        log_stream_name                  = "metrics/{TaskId}"
        dimension_rollup_option          = "NoDimensionRollup"
        resource_to_telemetry_conversion = { enabled = false }
      }
    }
    service = {
      pipelines = { metrics = { receivers = ["prometheus"], exporters = ["awsemf"] } }
    }
  })

  service_container = {
    name                   = var.name
    image                  = var.image
    command                = var.command
    essential              = true
    readonlyRootFilesystem = true
    user                   = "10001:10001"
    portMappings           = [for port in concat([var.port], var.metrics_port == null ? [] : [var.metrics_port]) : { containerPort = port, protocol = "tcp" }]
    environment            = [for key, value in var.environment : { name = key, value = value }]
    secrets                = [for key, arn in var.secrets : { name = key, valueFrom = arn }]
    mountPoints = concat(
      [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }],
      var.shared_volume == null ? [] : [{ sourceVolume = "shared", containerPath = var.shared_volume.path, readOnly = false }],
    )
    linuxParameters = { initProcessEnabled = true, capabilities = { drop = ["ALL"] } }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = data.aws_region.current.region
        awslogs-stream-prefix = var.name
      }
    }
  }

  collector_container = {
    name                   = "metrics"
    image                  = var.collector_image
    essential              = false
    readonlyRootFilesystem = true
    environment            = [{ name = "AOT_CONFIG_CONTENT", value = local.collector_config }]
    linuxParameters        = { capabilities = { drop = ["ALL"] } }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = data.aws_region.current.region
        awslogs-stream-prefix = "metrics"
      }
    }
  }
}

locals {
  # A second process beside the service (the vault's audit shipper): non-essential, so the
  # service keeps serving if it stops, and the stop is in its log (an alarm watches it).
  sidecar_container = var.sidecar == null ? null : {
    name                   = var.sidecar.name
    image                  = var.image
    command                = var.sidecar.command
    essential              = false
    readonlyRootFilesystem = true
    user                   = "10001:10001"
    environment            = [for key, value in var.sidecar.environment : { name = key, value = value }]
    mountPoints            = [{ sourceVolume = "sidecar", containerPath = var.sidecar.volume.path, readOnly = true }]
    linuxParameters        = { initProcessEnabled = true, capabilities = { drop = ["ALL"] } }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = data.aws_region.current.region
        awslogs-stream-prefix = var.sidecar.name
      }
    }
  }
  containers = concat(
    [local.service_container],
    var.metrics_port == null ? [] : [local.collector_container],
    var.sidecar == null ? [] : [local.sidecar_container],
  )
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/strongroom/${var.name}"
  retention_in_days = 365
  kms_key_id        = var.kms_key_arn

  tags = {
    "pci-dss" = "10.2.1 10.5.1"
  }
}

data "aws_iam_policy_document" "tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# The execution role pulls the image, writes the logs and hands the task its secrets.
resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json

  tags = {
    "pci-dss" = "7.2.1"
  }
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = length(var.secrets) > 0 ? values(var.secrets) : ["arn:aws:secretsmanager:::none"]
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.secrets.json
}

# The task role is what the service's own code may do: exactly the caller's policy.
resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json

  tags = {
    "pci-dss" = "7.2.1 7.2.2"
  }
}

resource "aws_iam_role_policy" "task" {
  count  = var.task_policy_json == null ? 0 : 1
  role   = aws_iam_role.task.id
  policy = var.task_policy_json
}

# The collector sidecar writes its embedded-metric logs with the task role's credentials,
# not the execution role's (which only the awslogs driver uses): without this every
# Strongroom-namespace metric, the alarms and the scaling on them, stay empty.
data "aws_iam_policy_document" "collector" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
}

resource "aws_iam_role_policy" "collector" {
  count  = var.metrics_port == null ? 0 : 1
  name   = "metrics-collector"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.collector.json
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode(local.containers)

  # The only writable places: an ephemeral volume on /tmp, and the shared volume if any.
  volume {
    name = "tmp"
  }

  dynamic "volume" {
    for_each = var.shared_volume == null ? [] : [var.shared_volume]
    content {
      name = "shared"
      efs_volume_configuration {
        file_system_id     = volume.value.file_system_id
        transit_encryption = "ENABLED"
        authorization_config {
          access_point_id = volume.value.access_point_id
          iam             = "ENABLED"
        }
      }
    }
  }

  dynamic "volume" {
    for_each = var.sidecar == null ? [] : [var.sidecar.volume]
    content {
      name = "sidecar"
      efs_volume_configuration {
        file_system_id     = var.shared_volume.file_system_id
        transit_encryption = "ENABLED"
        authorization_config {
          access_point_id = volume.value.access_point_id
          iam             = "ENABLED"
        }
      }
    }
  }

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  tags = {
    "pci-dss" = "2.2.1 6.3.3"
  }
}

resource "aws_ecs_service" "this" {
  name                   = var.name
  cluster                = var.cluster_arn
  task_definition        = aws_ecs_task_definition.this.arn
  desired_count          = var.min_tasks
  launch_type            = "FARGATE"
  platform_version       = "LATEST"
  propagate_tags         = "SERVICE"
  enable_execute_command = false # no shell into a task, in either account (PCI DSS 7.2.1)

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = false
  }

  dynamic "load_balancer" {
    for_each = var.target_group_arns
    content {
      target_group_arn = load_balancer.value
      container_name   = var.name
      container_port   = var.port
    }
  }

  dynamic "service_registries" {
    for_each = var.discovery_service_arn == null ? [] : [var.discovery_service_arn]
    content {
      registry_arn = service_registries.value
    }
  }

  # Autoscaling owns the count once the service exists.
  lifecycle {
    ignore_changes = [desired_count]
  }

  tags = {
    "pci-dss" = var.pci_dss
  }
}

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/${var.cluster_name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

# Queue depth, webhook backlog: per-task averages from the service's own metrics.
resource "aws_appautoscaling_policy" "custom" {
  for_each           = var.custom_scaling
  name               = "${var.name}-${each.key}"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = each.value.target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    customized_metric_specification {
      namespace   = "Strongroom"
      metric_name = each.value.metric_name
      statistic   = "Average"
      dimensions {
        name  = "job"
        value = var.name
      }
    }
  }
}
