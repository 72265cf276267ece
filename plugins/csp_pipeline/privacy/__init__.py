"""Privacy housekeeping: retention, key rotation and the leak scan.

Imports from core and ingest (landed files are what retention and re-keying read).
"""
