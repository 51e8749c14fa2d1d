"""Root conftest: puts the repository root on sys.path so tests import the packages directly."""

import os

# The suite tests the app as shipped, whatever plugins the venv holds (`make test` installs the example one): a
# test of a plugin selects it itself (Settings(plugins=...), ZQ_PLUGINS for a process it starts).
os.environ["ZQ_PLUGINS"] = "none"
