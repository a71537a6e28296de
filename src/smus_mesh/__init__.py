"""smus-mesh: a two-account SageMaker Unified Studio collaboration from one YAML file."""

__version__ = "0.1.0"
