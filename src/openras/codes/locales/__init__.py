"""Error message catalogues, one module per language (``en`` is complete and the fallback).

A translation is a module here defining ``MESSAGES: dict[int, str]``; missing codes fall back
to English.
"""
