"""Opspor web app."""
