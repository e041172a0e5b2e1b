"""The moviola command line."""
