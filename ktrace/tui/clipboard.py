"""Copying text out of the TUI. OSC 52 reaches the local clipboard through SSH, but terminals may
ignore it silently (tmux without `set -s set-clipboard on`, macOS Terminal), so the text is also
written to a file in a private directory that the message names."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any

COPY_FILE = "ktrace-copy.txt"


def private_dir() -> Path:
    """$XDG_RUNTIME_DIR (per user, mode 0700) when set, else /tmp/ktrace-UID, created 0700 and used
    only if it is ours and nobody else can read it; else a fresh private temp dir."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime)
    base = Path(tempfile.gettempdir()) / f"ktrace-{os.getuid()}"
    try:
        base.mkdir(mode=0o700, exist_ok=True)
        st = base.lstat()
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077:
            return base
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="ktrace-"))


def copy_text(app: Any, text: str) -> str:
    """Copy `text` (OSC 52 through `app.copy_to_clipboard`) and save it to a private file; returns
    the message to show."""
    app.copy_to_clipboard(text)
    lines = text.count("\n") + (not text.endswith("\n"))
    try:
        target = private_dir() / COPY_FILE
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        return f"copied {lines} line(s) via OSC 52 (could not save a copy: {e.strerror})"
    return f"copied {lines} line(s) via OSC 52 (tmux: set-clipboard on); also saved to {target}"
