"""The ``acuity`` command line. Each sub-command is a module with ``add_parser`` and ``run``."""
