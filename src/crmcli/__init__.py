"""crmcli: a command-line CRM for solo sellers over one SQLite file."""

__version__ = "0.1.0"
