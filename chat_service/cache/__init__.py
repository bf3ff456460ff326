"""Semantic answer cache: question normalization and the same-question verifier."""
