"""Root conftest: puts the repository root on sys.path so tests import the packages directly."""
