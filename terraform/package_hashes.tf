# Source hashes of the two packages (packaging.tf), computed by Terraform at plan from
# the inputs. Only locals that depend on variables and files live here: the tests render
# them with Terraform core and compare them with layers/build.py's source_hash().
locals {
  source_root  = "${path.module}/.."
  build_script = "${path.module}/../layers/build.py"
  requirements = "${path.module}/../layers/requirements.txt"
  build_dir    = "${path.module}/../layers/build"
  # Bump with layers/build.py's BUILD_FORMAT: the same inputs give different zips.
  build_format = "2"

  # The packages are built from the repository around terraform/. A module sourced on
  # its own (an absolute path or a registry copy: Terraform then copies terraform/
  # alone) has none of it; packaging.tf refuses that plan with a message instead of
  # failing on a missing file, unless prebuilt_packages needs no build.
  repository_present = alltrue([
    for name in ["layers/build.py", "layers/requirements.txt", "serverless/__init__.py", "handlers/__init__.py"] :
    fileexists("${local.source_root}/${name}")
  ])

  # The functions' code only: the operator CLI (serverless/cli/, with its AWS adapters)
  # ships in the wheel, never to Lambda, and an edit to it redeploys nothing. Same list
  # as layers/build.py's FUNCTION_EXCLUDED.
  function_excluded = ["serverless/cli/"]

  # Same algorithm as layers/build.py's source_hash(), which refuses to build when the
  # two disagree (the file sets would differ).
  function_sources = sort([
    for name in fileset(local.source_root, "{serverless,handlers}/**/*.py") : name
    if alltrue([for prefix in local.function_excluded : !startswith(name, prefix)])
  ])
  function_source_hash = local.repository_present ? sha256(join("\n", concat(
    [
      "format=${local.build_format}",
      "target=function",
      "runtime=${var.runtime}",
      "script=${filesha256(local.build_script)}",
    ],
    [for name in local.function_sources : "${name}=${filesha256("${local.source_root}/${name}")}"],
  ))) : ""
  layer_source_hash = local.repository_present ? sha256(join("\n", [
    "format=${local.build_format}",
    "target=layer",
    "runtime=${var.runtime}",
    "architecture=${var.architecture}",
    "script=${filesha256(local.build_script)}",
    "requirements=${filesha256(local.requirements)}",
  ])) : ""
}
