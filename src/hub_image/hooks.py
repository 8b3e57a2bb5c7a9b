"""What the cookiecutter hooks do; the hook files only import this and call it."""

from __future__ import annotations

import sys
from typing import Any

from . import workflow
from .context import AnswerError, validate_answers


def pre_gen(context: dict[str, Any]) -> int:
    """Validate the answers; on a bad one print one line and return 1."""
    try:
        validate_answers(context)
    except AnswerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def post_gen(context: dict[str, Any], project_dir: str) -> int:
    """Set IMAGE_NAME / NO_PUSH in the generated build workflow from the answers."""
    answers = validate_answers(context)
    try:
        if answers["image_name"]:
            workflow.configure(project_dir, image_name=answers["image_name"], push_on_pr=answers["push_on_pr"])
    except workflow.WorkflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
