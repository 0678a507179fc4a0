"""Readers and writers for files that come in and go out: CSV, TSV, JSON, JSON Lines.

``tabular`` streams records from a file or stdin (memory stays flat however long the file
is), maps the column names of common exports (Google Contacts, Outlook, HubSpot, our own)
to customer fields, and writes output files atomically.
"""
