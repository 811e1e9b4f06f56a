"""Generated documentation: the schema reference and the CLI reference."""
