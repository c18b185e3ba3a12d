"""``make e2e``: the Terraform module's whole lifecycle on the real AWS provider against a
local AWS endpoint (moto's server, in-process), and the deployed packages run end to end.

See :mod:`tools.e2e.__main__` for the sequence and ``terraform/README.md`` for why.
"""
