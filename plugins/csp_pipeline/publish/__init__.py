"""The published snapshot: disclosure control and the atomic switch of `current`.

Imports only from core.
"""
