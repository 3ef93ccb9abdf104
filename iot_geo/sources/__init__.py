"""Input layers: the dataset catalogue, boundaries, providers and population."""

__all__ = []


