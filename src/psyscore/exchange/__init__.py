"""Definitions that travel: psyscore definitions to and from other systems.

- `redcap`: a REDCap data dictionary (radio fields with the scale's codes and anchors, calc fields
  that score as psyscore does), and a draft definition from a REDCap dictionary.
- `fhir`: a FHIR R4 Questionnaire, validated with `fhir.resources` (the `fhir` extra).

Each exporter refuses, with a message naming the score or item, what the target cannot express,
rather than write something that would score differently there.
"""

from __future__ import annotations

from .redcap import draft_from_redcap, read_redcap_dictionary, redcap_dictionary, write_redcap

__all__ = ["draft_from_redcap", "read_redcap_dictionary", "redcap_dictionary", "write_redcap"]
