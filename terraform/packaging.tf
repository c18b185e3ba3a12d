# ---------------------------------------------------------------------------- packaging
# Two packages, each keyed by a hash Terraform computes at plan from the inputs:
#
# * the layer (third-party dependencies only): layers/requirements.txt (hash-pinned),
#   architecture, Python version, build script;
# * the function package (the project's code: serverless/ and handlers/, shared by both
#   functions): every *.py under serverless/ and handlers/, Python version, build script.
#
# The zips are built at APPLY time by terraform_data + local-exec (layers/build.py,
# standard library + pip), only when their hash changed. Terraform's built-in resources
# do this, so the module needs no provider but hashicorp/aws (no `external`, no
# `archive`) and `terraform apply` stays the only command. A code-only change touches
# the function package and the functions, never the layer or the IAM policies.
#
# With var.prebuilt_packages set, nothing is built: the given zips are deployed
# (machines without Python/pip; build them elsewhere with layers/build.py).
locals {
  build = var.prebuilt_packages == null

  function_package = (
    local.build
    ? {
      path = "${local.build_dir}/function-${var.runtime}-${substr(local.function_source_hash, 0, 16)}.zip"
      hash = local.function_source_hash
    }
    : {
      path = var.prebuilt_packages.function_zip
      hash = filebase64sha256(var.prebuilt_packages.function_zip)
    }
  )
  layer_package = (
    local.build
    ? {
      path = "${local.build_dir}/layer-${var.runtime}-${var.architecture}-${substr(local.layer_source_hash, 0, 16)}.zip"
      hash = local.layer_source_hash
    }
    : {
      path = var.prebuilt_packages.layer_zip
      hash = filebase64sha256(var.prebuilt_packages.layer_zip)
    }
  )
}

resource "terraform_data" "layer_package" {
  count = local.build ? 1 : 0

  triggers_replace = local.layer_package.hash

  provisioner "local-exec" {
    interpreter = [
      var.python_executable, local.build_script, "layer",
      "--runtime", var.runtime, "--architecture", var.architecture,
      "--expect-hash", local.layer_package.hash, "--output",
    ]
    command = local.layer_package.path
  }
}

resource "terraform_data" "function_package" {
  count = local.build ? 1 : 0

  triggers_replace = local.function_package.hash

  provisioner "local-exec" {
    interpreter = [
      var.python_executable, local.build_script, "function",
      "--runtime", var.runtime, "--expect-hash", local.function_package.hash, "--output",
    ]
    command = local.function_package.path
  }
}

resource "aws_lambda_layer_version" "dependencies" {
  layer_name               = "${var.name_prefix}-dependencies"
  description              = "Third-party dependencies of ecs-drain-terminator (layers/requirements.txt)."
  filename                 = local.layer_package.path
  source_code_hash         = local.layer_package.hash
  compatible_runtimes      = [var.runtime]
  compatible_architectures = [var.architecture]

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [terraform_data.layer_package]
}
