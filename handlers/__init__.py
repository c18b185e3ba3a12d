"""Thin Lambda entry points: parse, delegate to :mod:`serverless`, return."""
