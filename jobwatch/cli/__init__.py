"""The command-line interface: parser (the grammar), commands (one function per command), output (what they print), main (the entry point)."""
