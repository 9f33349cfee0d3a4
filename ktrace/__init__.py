"""ktrace: trace Kubernetes request paths and flag every broken hop."""

__version__ = "0.1.0"
