# ---------------------------------------------------------------------------- packaging
# Two packages, each keyed by a hash Terraform computes at plan from the inputs:
#
# * the layer (third-party dependencies only): layers/requirements.txt (hash-pinned),
#   architecture, Python version, build script;
# * the function package (the project's code: serverless/ and handlers/, shared by both
#   functions): every *.py under serverless/ and handlers/ but the operator CLI
#   (serverless/cli/), Python version, build script.
#
# The zips are built at APPLY time by terraform_data + local-exec (layers/build.py,
# standard library + pip), only when their hash changed. Terraform's built-in resources
# do this, so the module needs no provider but hashicorp/aws (no `external`, no
# `archive`) and `terraform apply` stays the only command. A code-only change touches
# the function package and the functions, never the layer or the IAM policies.
#
# With var.prebuilt_packages set, nothing is built: the given zips are deployed
# (machines without Python/pip: the release artifacts of `make release`, or zips built
# elsewhere with layers/build.py).
locals {
  build = var.prebuilt_packages == null

  # Each prebuilt zip that does not exist (paths are relative to where terraform runs).
  missing_prebuilt = local.build ? [] : [
    for path in [var.prebuilt_packages.function_zip, var.prebuilt_packages.layer_zip] : path
    if !fileexists(path)
  ]
  # A python_executable given as a path must exist; a bare name is looked up on PATH at
  # apply, which Terraform cannot do at plan.
  python_missing = local.build && strcontains(var.python_executable, "/") && !fileexists(var.python_executable)

  function_package = (
    local.build
    ? {
      path = "${local.build_dir}/function-${var.runtime}-${substr(local.function_source_hash, 0, 16)}.zip"
      hash = local.function_source_hash
    }
    : {
      path = var.prebuilt_packages.function_zip
      hash = fileexists(var.prebuilt_packages.function_zip) ? filebase64sha256(var.prebuilt_packages.function_zip) : ""
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
      hash = fileexists(var.prebuilt_packages.layer_zip) ? filebase64sha256(var.prebuilt_packages.layer_zip) : ""
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

    # What the packaging needs, refused at plan with what to do instead (every function
    # and the layer use these packages, so the layer holds the checks).
    precondition {
      condition     = !local.build || local.repository_present
      error_message = "The module builds its Lambda packages from the repository around terraform/ (layers/, serverless/, handlers/), which is not beside ${abspath(path.module)}: Terraform copies only the module's own directory when it is sourced by an absolute path or from a registry. Source it from the repository with a //terraform subdirectory (source = \"git::https://<host>/<org>/ecs-drain-terminator.git//terraform?ref=v<version>\", or a relative path such as \"../ecs-drain-terminator/terraform\"), or deploy the release artifacts with prebuilt_packages (terraform/README.md, \"Deploying a release\")."
    }
    precondition {
      condition     = length(local.missing_prebuilt) == 0
      error_message = "prebuilt_packages names zips that do not exist: ${join(", ", local.missing_prebuilt)} (relative paths are relative to the directory terraform runs in). Download the release's function and layer zips for runtime ${var.runtime} and architecture ${var.architecture} (make release builds them into dist/)."
    }
    precondition {
      condition     = !local.python_missing
      error_message = "python_executable ${var.python_executable} does not exist. The packages are built at apply by a Python 3 with pip: point python_executable at one, or deploy prebuilt packages and need no Python at all (prebuilt_packages = { function_zip = ..., layer_zip = ... }, the release artifacts of make release; terraform/README.md, \"Deploying a release\")."
    }
  }

  depends_on = [terraform_data.layer_package]
}
