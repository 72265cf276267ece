"""What every stage shares: settings, the feed registry, reference data and warehouse connections.

The bottom of the package: imports nothing from the other subpackages.
"""
