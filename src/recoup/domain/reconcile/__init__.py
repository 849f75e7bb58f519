"""Reconciliation: matching records across sources, and the breaks between them."""
