"""Offences (contentieux): from a fraud found to a penalty paid, and back into targeting."""
