"""The generator's version and the hash that names what it made from a set of parameters."""

from __future__ import annotations

import hashlib
import json

__all__ = ["GENERATOR_VERSION", "params_hash"]

#: The generator's version: a world or stills made by another version are regenerated (the
#: profile's cache) or refused (a root someone else owns). 3: discs with fill patterns.
GENERATOR_VERSION = 3


def params_hash(params: dict) -> str:
    """A short, stable hash of JSON-able generation parameters (names the stills' file, keys the manifest)."""
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
