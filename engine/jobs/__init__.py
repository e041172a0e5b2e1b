"""Job kinds the engine runs."""
