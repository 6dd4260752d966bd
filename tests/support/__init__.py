"""Helpers shared by the tests (imported as modules; fixtures stay in the conftest files)."""
