"""Built-in scenario manifests (package data)."""
