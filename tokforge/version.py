"""tokforge's version (in model files, count folders and ``tokforge --version``)."""

__version__ = "0.1.0"
