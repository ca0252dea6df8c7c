"""Keyed pseudonyms of the homes for the pseudonymised consumer views: ``home_key = HMAC-SHA256(key, home_id)``.

An unsalted hash of a home id can be recomputed (and the rows linked) by anyone who knows the id; an HMAC needs the
secret key too. The key comes from ``$EMISSION_PSEUDONYM_KEY`` (on Databricks: add ``EMISSION_PSEUDONYM_KEY`` to
``EMISSION_SECRETS`` and the job exports it from ``$EMISSION_SECRET_SCOPE``) and is never written anywhere.

Neither Spark SQL nor Sail has an HMAC function, and inlining the key into a view's SQL would store it in the
catalog (``SHOW CREATE TABLE``), so the pseudonyms are computed here, in Python, when silver.consumption is
materialised, into the restricted table silver.home_pseudonyms; the views join it. Without a key the table is not
refreshed and the pseudonymised views are not created (one warning names the variable).
"""
from __future__ import annotations

import hashlib
import hmac

from emission_assets.settings import MIN_PSEUDONYM_KEY_CHARACTERS, settings

KEY_ENV = "EMISSION_PSEUDONYM_KEY"
TABLE = "silver.home_pseudonyms"
MIN_KEY_CHARACTERS = MIN_PSEUDONYM_KEY_CHARACTERS
MISSING_KEY = (
    f"pseudonymised consumer views not created: set {KEY_ENV} (a secret of at least {MIN_KEY_CHARACTERS} characters, "
    "e.g. from `python -c 'import secrets; print(secrets.token_hex(32))'`; on Databricks via EMISSION_SECRETS)"
)


def pseudonym_key() -> bytes | None:
    """The HMAC key from the environment, or None when it is not set; too short a key is the user's to fix."""
    key = settings().privacy.pseudonym_key  # a too short key raises, naming the variable
    return key.get_secret_value().encode() if key else None


def home_key(key: bytes, home_id: str) -> str:
    """The home's pseudonym: HMAC-SHA256 of the home id (UTF-8) under ``key``, as 64 hex digits."""
    return hmac.new(key, home_id.encode(), hashlib.sha256).hexdigest()


def refresh_pseudonyms(lakehouse) -> int | None:
    """Give every home of silver.consumption its pseudonym under the current key (a new key replaces the old
    pseudonyms). Returns the number of homes, or None (and writes nothing) without a key."""
    import pandas as pd

    key = pseudonym_key()
    if key is None:  # the view registration says so, once per process
        return None
    homes = [row.home_id for row in lakehouse.table("silver.consumption").select("home_id").distinct().collect()
             if row.home_id is not None]
    if not homes:
        return 0
    frame = pd.DataFrame({"home_id": homes, "home_key": [home_key(key, home) for home in homes]})
    lakehouse.writer.merge(
        TABLE, lakehouse.spark.createDataFrame(frame), "t.home_id = s.home_id",
        "WHEN MATCHED AND t.home_key <> s.home_key THEN UPDATE SET home_key = s.home_key "
        "WHEN NOT MATCHED THEN INSERT *",
    )
    return len(homes)
