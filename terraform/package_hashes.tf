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

  # Same algorithm as layers/build.py's source_hash(), which refuses to build when the
  # two disagree (the file sets would differ).
  function_sources = sort(fileset(local.source_root, "{serverless,handlers}/**/*.py"))
  function_source_hash = sha256(join("\n", concat(
    [
      "format=${local.build_format}",
      "target=function",
      "runtime=${var.runtime}",
      "script=${filesha256(local.build_script)}",
    ],
    [for name in local.function_sources : "${name}=${filesha256("${local.source_root}/${name}")}"],
  )))
  layer_source_hash = sha256(join("\n", [
    "format=${local.build_format}",
    "target=layer",
    "runtime=${var.runtime}",
    "architecture=${var.architecture}",
    "script=${filesha256(local.build_script)}",
    "requirements=${filesha256(local.requirements)}",
  ]))
}
