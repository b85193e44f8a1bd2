"""Reviewing a change: the base commit it is compared with (`base`), what it does to the stack's resources
(`changes`), and which property changes make the providers replace a resource (`replacement`)."""
