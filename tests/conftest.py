"""Fixtures shared by the unit tests in every folder."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture
def umask_002() -> Iterator[None]:
    # A permissive umask, so modes we get right are ours and not the umask's.
    old = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(old)
