"""The fixture every pseudo-terminal test uses: terminals opened during a test are closed (their process
killed) after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.terminal.test_tui_app_terminal import Terminal


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for t in opened:
        t.close()
