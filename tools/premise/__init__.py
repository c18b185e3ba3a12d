"""``python -m tools.premise``: settle the premise in your own account, in one command.

Applies ``terraform/examples/premise``, runs ``drain-terminator verify`` once per stop action
(setting the service's ``<prefix>stop-action`` tag before each), prints one table, and
destroys the stack, also after a failure or Ctrl-C. See README.md, "Stop actions".
"""
