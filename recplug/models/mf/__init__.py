"""Matrix-factorisation models."""
