"""The CRM itself: business rules and their SQL. Never imports typer or rich."""
