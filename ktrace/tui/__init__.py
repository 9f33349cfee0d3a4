"""The terminal UI: a thin Textual view over the same analysis as the CLI."""
