"""Media I/O: decode, image sequences, writers."""
