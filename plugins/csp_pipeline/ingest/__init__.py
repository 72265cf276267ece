"""A landed extract to a promoted warehouse table: name, read (with pseudonyms), audit, promote or quarantine.

Imports only from core.
"""
