"""Money owed and paper sent: line-item totals, quotes, invoices and payments, numbering."""
