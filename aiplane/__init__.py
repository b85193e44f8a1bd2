"""aiplane: the framework's tooling — specs, composition, the offline engine and the CLI."""

__version__ = "0.1.0"
