"""pytest plugin: fail async tests that block the event loop (being built)."""
