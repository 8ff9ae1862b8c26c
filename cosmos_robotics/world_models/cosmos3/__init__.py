"""Cosmos 3 (Cosmos3-Nano and relatives) through Diffusers: construction, acceleration, backend."""
