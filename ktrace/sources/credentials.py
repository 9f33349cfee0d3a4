"""Tokens from kubeconfig exec plugins (`aws eks get-token`, `kubelogin`, `gke-gcloud-auth-plugin`),
run by ktrace instead of the kubernetes client.

The client decides a plugin's interactivity from `sys.stdout.isatty()`, which is true inside the TUI,
and hands it the real terminal: a refresh would draw over the screen and read the user's keys. Here a
plugin runs with the terminal only when nothing else holds it: before the TUI starts (`prepare`) and
for a login the TUI asks for while suspended (`login`). Every other run is non-interactive (no stdin,
stderr captured) and happens when the token is about to expire, or after a 401 (`invalidate`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ktrace.ending import on_end
from ktrace.errors import LoginRequired, SourceError

EARLY = 10.0  # seconds: refresh a token this long before it expires (requests take time; clocks drift)
RUN_TIMEOUT = 60.0  # seconds a non-interactive plugin run may take


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    expires: float | None  # epoch seconds; None: valid until the server refuses it


class ExecCredentials:
    """The token of one kubeconfig user whose credentials come from an exec plugin."""

    def __init__(self, context: str, spec: dict[str, Any], base_dir: str) -> None:
        self.context = context
        self.spec = spec
        self.base_dir = base_dir  # a relative command path is relative to its kubeconfig, as in kubectl
        self.token: Token | None = None
        self.runs = 0
        self.refreshes = 0  # non-interactive runs after the first token (status and tests read it)
        self._lock = threading.Lock()

    @property
    def interactive_mode(self) -> str:
        return str(self.spec.get("interactiveMode") or "IfAvailable")

    def current(self) -> str:
        """A token that is still valid, refreshed without a terminal when needed (any thread)."""
        with self._lock:
            token = self.token
            if token is None or (token.expires is not None and token.expires - EARLY <= time.time()):
                if token is not None:
                    self.refreshes += 1
                token = self.token = self._run(interactive=False)
            return token.value

    def prepare(self, interactive: bool) -> None:
        """Obtain a token now, with the terminal if `interactive` (nothing else is on the screen)."""
        with self._lock:
            if self.token is None:
                self.token = self._run(interactive=interactive and self.interactive_mode != "Never")

    def login(self) -> None:
        """An interactive run on the real terminal: the caller has suspended the TUI."""
        with self._lock:
            self.token = self._run(interactive=True)

    def invalidate(self) -> None:
        """The server refused the token (401): the next request runs the plugin again."""
        with self._lock:
            self.token = None

    def install(self, cfg: Any) -> None:
        """Make a kubernetes Configuration ask us for the token before every request."""

        def refresh(c: Any) -> None:
            c.api_key["BearerToken"] = f"Bearer {self.current()}"

        cfg.refresh_api_key_hook = refresh
        refresh(cfg)

    def _command(self) -> list[str]:
        command = str(self.spec.get("command") or "")
        if not command:
            raise SourceError(f"context {self.context!r}: the exec credential plugin names no command")
        if os.sep in command and not os.path.isabs(command):
            command = os.path.join(self.base_dir, command)
        return [command, *(str(a) for a in self.spec.get("args") or [])]

    def _run(self, interactive: bool) -> Token:
        env = dict(os.environ)
        env.update({str(e.get("name")): str(e.get("value", "")) for e in self.spec.get("env") or []
                    if isinstance(e, dict) and e.get("name")})
        env["KUBERNETES_EXEC_INFO"] = json.dumps({
            "apiVersion": self.spec.get("apiVersion") or "client.authentication.k8s.io/v1",
            "kind": "ExecCredential", "spec": {"interactive": interactive}})
        argv = self._command()
        self.runs += 1
        try:
            done = _run_plugin(argv, env, interactive)
        except FileNotFoundError:
            hint = self.spec.get("installHint")
            raise SourceError(f"context {self.context!r}: exec credential plugin {argv[0]} not found"
                              + (f" ({_last_line(str(hint))})" if hint else "")) from None
        except subprocess.TimeoutExpired:
            raise self._failure(f"{argv[0]} took longer than {RUN_TIMEOUT:.0f} s", interactive) from None
        except OSError as e:
            raise SourceError(f"context {self.context!r}: cannot run {argv[0]}: {e.strerror}") from None
        if done.returncode != 0:
            said = _last_line((done.stderr or b"").decode("utf-8", "replace"))
            raise self._failure(f"{argv[0]} exited with {done.returncode}" + (f": {said}" if said else ""), interactive)
        return self._parse(done.stdout, argv[0])

    def _failure(self, what: str, interactive: bool) -> SourceError:
        message = f"context {self.context!r}: exec credential plugin failed: {what}"
        if not interactive and self.interactive_mode != "Never":
            return LoginRequired(message, self.login)
        return SourceError(message)

    def _parse(self, out: bytes, command: str) -> Token:
        try:
            doc = json.loads(out)
            status = doc["status"]
            value = status["token"]
        except (ValueError, KeyError, TypeError):
            raise SourceError(f"context {self.context!r}: {command} did not print an ExecCredential with a token "
                              "(client certificates from exec plugins are not supported)") from None
        expires = status.get("expirationTimestamp")
        try:
            when = datetime.fromisoformat(expires).timestamp() if expires else None
        except (TypeError, ValueError):
            raise SourceError(f"context {self.context!r}: {command} gave an unreadable expirationTimestamp "
                              f"{expires!r}") from None
        return Token(str(value), when)


def _run_plugin(argv: list[str], env: dict[str, str], interactive: bool) -> subprocess.CompletedProcess[bytes]:
    """Run the plugin to its end; if ktrace ends first (a signal, Ctrl-C), the plugin and whatever it
    started end with it, and a terminal it was prompting on gets its settings back."""
    # Without the terminal: no stdin (a plugin waiting for input fails instead of eating keys), stderr
    # captured (nothing is written over the screen) and a session of its own (no /dev/tty to open; its
    # process group is what ends it). With the terminal it stays in ours: the terminal's foreground.
    restore = _terminal_settings() if interactive else None  # before the plugin can change them
    with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stdin=None if interactive else subprocess.DEVNULL,
                          stderr=None if interactive else subprocess.PIPE, start_new_session=not interactive) as proc:
        def stop() -> None:
            _end_tree(proc.pid, own_group=not interactive)
            if restore is not None:
                restore()

        cancel = on_end(stop)
        try:
            out, err = proc.communicate(timeout=None if interactive else RUN_TIMEOUT)
        except BaseException:  # a timeout, or Ctrl-C while it prompted
            stop()
            raise
        finally:
            cancel()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def _end_tree(pid: int, own_group: bool) -> None:
    """Kill a plugin and its descendants: its whole process group when it has one of its own, else
    every process below it (found in /proc before any is killed, while they are still its children)."""
    doomed = [pid, *_descendants(pid)]
    if own_group and hasattr(os, "killpg"):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    for p in doomed:
        with contextlib.suppress(OSError):
            os.kill(p, signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])  # the name in () may hold spaces
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            out.append(child)
            todo.append(child)
    return out


def _terminal_settings() -> Callable[[], None] | None:
    """A function that puts the terminal's settings back as they are now (a plugin killed at its password
    prompt would leave echo off), or None without a terminal."""
    try:
        import termios
    except ImportError:  # not POSIX
        return None
    try:
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (AttributeError, ValueError, OSError, termios.error):
        return None
    return lambda: termios.tcsetattr(fd, termios.TCSANOW, saved)


_cache: dict[tuple[tuple[str, ...], str], ExecCredentials] = {}
_cache_lock = threading.Lock()


def for_user(files: tuple[str, ...], context: str, user: dict[str, Any] | None,
             base_dir: str) -> ExecCredentials | None:
    """The shared credentials of a context whose user runs an exec plugin (None otherwise): one per
    context for the whole process, so a rebuilt client reuses a valid token."""
    spec = (user or {}).get("exec")
    if not isinstance(spec, dict):
        return None
    with _cache_lock:
        key = (files, context)
        if key not in _cache or _cache[key].spec != spec:
            _cache[key] = ExecCredentials(context, spec, base_dir)
        return _cache[key]


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""
