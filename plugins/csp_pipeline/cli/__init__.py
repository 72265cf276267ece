"""The `csp` command line: the top of the package.
"""
