"""Reaching customers: consent, segments, templates, sending and campaigns."""
