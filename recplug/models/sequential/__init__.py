"""Sequential (next-item) models."""
