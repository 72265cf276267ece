"""Disclosure control for the published snapshot (contracts/marts.md, declared in disclosure.yml).

Counts of people or person-level events from 1 to 4 are suppressed (primary suppression); zeros
are shown. Secondary suppression hides the next smallest non-zero cell of any declared relation
(a total row, a total column with an unpublished remainder, a derivable group sum, cells known to
be equal) in which a suppressed cell could otherwise be recovered by subtraction, until no
relation gives one away. Rates and percentages are suppressed with the counts they depend on.
A suppressed cell becomes NULL and its `<column>_suppressed` flag TRUE.

The rewrite happens on the snapshot's own DuckDB connection, never on the working warehouse,
which keeps exact figures for authorised analysts.

Modules: rules (the declared rule types), policy (reading disclosure.yml), relations (the sums and
equal cells a reader could use), suppression (which cells to hide), audit and solver (the exact
search for a cell the relations still pin), protect (the rewrite of a mart table).
"""

from csp_pipeline.publish.disclosure.policy import load_policy, parse_policy
from csp_pipeline.publish.disclosure.protect import Protection, protect_mart, protect_snapshot
from csp_pipeline.publish.disclosure.rules import FLAG, POLICY_FILE, DisclosureError, Policy

__all__ = ["FLAG", "POLICY_FILE", "DisclosureError", "Policy", "Protection", "load_policy",
           "parse_policy", "protect_mart", "protect_snapshot"]
