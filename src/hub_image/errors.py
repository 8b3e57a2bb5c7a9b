"""One error family: every error hub-image reports to a user is a :class:`HubImageError`,
whose ``str()`` is the one line the user sees.  They are click exceptions, so the CLI
prints them (``Error: …``) and exits with their code, with no traceback, in one place."""

from __future__ import annotations

from typing import IO

import click


class HubImageError(click.ClickException):
    """A problem the user can fix; ``str()`` is one line naming it and the fix."""

    exit_code = 1


class AnswerError(HubImageError):
    """A template answer that breaks a rule: ``field`` and what to do."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class WorkflowError(HubImageError):
    """A build workflow that cannot be read or edited safely."""


class TemplateError(HubImageError):
    """The template cannot be found, rendered, or applied to a copy."""


class GitError(HubImageError):
    """A git command failed; ``stderr`` is what git said (never shown whole)."""

    def __init__(self, message: str, stderr: str = ""):
        super().__init__(message)
        self.stderr = stderr


class SetupError(HubImageError):
    """A GitHub (or registry) setup step failed; ``done`` lists what had been done."""

    def __init__(self, message: str, done: list[str] | None = None):
        super().__init__(message)
        self.done = list(done or [])


class ManifestError(HubImageError):
    """A fleet manifest is invalid; one line per problem, each ``file:line: key: …``."""

    exit_code = 2

    def show(self, file: IO | None = None) -> None:
        for line in self.message.splitlines():
            click.echo(f"error: {line}", err=True)
