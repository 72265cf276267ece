"""SQL expressions that replace direct identifiers at the boundary, evaluated inside DuckDB.

HMAC-SHA256 is written in SQL (sha256 over the key's inner and outer pads) so millions of rows are
pseudonymised without a Python call per row. The pads are derived from the key here and passed as
bound parameters; the key itself never appears in SQL text or logs.
"""

from __future__ import annotations

import hashlib

from csp_pipeline.core.registry import Column

BLOCK = 64  # SHA-256 block size in bytes


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """(inner pad, outer pad) of RFC 2104 for this key."""
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def _pad_names(key_param: str) -> tuple[str, str]:
    prefix = f"{key_param}_" if key_param else ""
    return f"{prefix}ipad", f"{prefix}opad"


def pad_params(key: bytes, key_param: str = "") -> dict[str, bytes]:
    """The bound parameters hmac_sql(..., key_param) expects for this key."""
    return dict(zip(_pad_names(key_param), hmac_pads(key), strict=True))


def hmac_sql(value_sql: str, key_param: str = "") -> str:
    """HMAC-SHA256 hex of a VARCHAR expression; expects the key's pads as parameters $ipad and
    $opad (with `key_param`, $<key_param>_ipad and $<key_param>_opad: see pad_params). NULL stays
    NULL."""
    ipad, opad = _pad_names(key_param)
    inner = f"unhex(sha256(${ipad}::BLOB || encode({value_sql})))"
    return f"CASE WHEN {value_sql} IS NULL THEN NULL ELSE sha256(${opad}::BLOB || {inner}) END"


def normalised_sql(col: Column, raw: str) -> str:
    value = f"nullif(trim({raw}), '')"
    if col.normalise == "upper":
        return f"upper({value})"
    if col.normalise == "lower":
        return f"lower({value})"
    return value


def pii_sql(col: Column, raw: str, key_param: str = "") -> str:
    """The generalised or pseudonymised replacement of a PII column, from its raw VARCHAR
    (`key_param`: which key's pad parameters a pseudonym uses, see hmac_sql)."""
    if col.pii == "pseudonym":
        return hmac_sql(normalised_sql(col, raw), key_param)
    if col.pii == "birth_date":
        return f"date_trunc('month', try_cast(nullif(trim({raw}), '') AS DATE))::DATE"
    if col.pii == "postcode":
        # Outward code (district): the part before the space, or all but the last 3 characters.
        pc = f"upper(replace(nullif(trim({raw}), ''), ' ', ''))"
        return f"CASE WHEN length({pc}) BETWEEN 5 AND 7 THEN left({pc}, length({pc}) - 3) END"
    raise ValueError(f"{col.name}: pii treatment {col.pii!r} has no SQL replacement")
