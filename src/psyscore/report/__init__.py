"""Rendering for people (terminal tables, scoring sheets) and machines (JSON)."""
