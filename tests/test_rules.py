"""The rules, in-process and fast, beside the end-to-end tests that run them through the
CLI: the workflow edits (what each request changes, and what is kept) and the pacer."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from conftest import UPSTREAM_BUILD
from hub_image import workflow
from hub_image.errors import WorkflowError
from hub_image.pacing import Clock, Pacer

GENERATED = """\
jobs:
  build:
    steps:
      - uses: jupyterhub/repo2docker-action@daa77f929833dcd836a711bc7837af945e9d27cc # master
        with:
          IMAGE_NAME: ""
          NO_PUSH: "true"
          DOCKER_REGISTRY: "quay.io"
"""


def _wf(tmp_path: Path, text: str) -> workflow.Workflow:
    path = tmp_path / "build.yaml"
    path.write_bytes(text.encode())
    return workflow.read(path)


@pytest.mark.parametrize(
    "image, push_on_pr, no_push",
    [
        ("a/b", None, workflow.NO_PUSH_MAIN_ONLY),  # an image name turns pushing on, main only
        ("a/b", True, workflow.NO_PUSH_MAIN_AND_PRS),
        (None, None, workflow.NO_PUSH_NEVER),  # clearing always stops pushing
    ],
)
def test_each_request_sets_the_states_the_table_says(tmp_path, image, push_on_pr, no_push):
    change = workflow.plan_change(_wf(tmp_path, GENERATED), image_name=image, push_on_pr=push_on_pr)
    assert change.after.no_push == no_push and change.after.image_name == (image or "")
    assert change.text.count("\n") == GENERATED.count("\n")  # only values changed


def test_looking_changes_nothing(tmp_path):
    wf = _wf(tmp_path, GENERATED)
    change = workflow.plan_change(wf)
    assert not change.changed and change.after.inputs == wf.inputs


def test_a_hand_written_no_push_is_kept_and_said(tmp_path):
    text = GENERATED.replace('NO_PUSH: "true"', "NO_PUSH: ${{ github.ref_type != 'tag' }}")
    change = workflow.plan_change(_wf(tmp_path, text), image_name="a/b")
    assert change.after.no_push == "${{ github.ref_type != 'tag' }}"
    assert change.notes and "kept your NO_PUSH" in change.notes[0]


def test_an_expression_image_name_is_not_replaced(tmp_path):
    wf = _wf(tmp_path, GENERATED.replace('IMAGE_NAME: ""', 'IMAGE_NAME: "org/${{ matrix.leg }}"'))
    with pytest.raises(WorkflowError, match="would make them all push to the same image"):
        workflow.plan_change(wf, image_name="a/b")


def test_crlf_and_the_upstream_placeholder(tmp_path):
    wf = _wf(tmp_path, UPSTREAM_BUILD.read_text().replace("\n", "\r\n"))
    change = workflow.plan_change(wf, image_name="a/b")
    assert "\n" not in change.text.replace("\r\n", "")
    assert 'IMAGE_NAME: "a/b"\r\n' in change.text and "# IMAGE_NAME" not in change.text


def test_without_docker_registry_the_action_pushes_to_docker_hub(tmp_path):
    wf = _wf(tmp_path, GENERATED.replace('          DOCKER_REGISTRY: "quay.io"\n', ""))
    assert wf.registry == "docker.io"


WORKFLOW_SHAPES = [
    GENERATED,
    GENERATED.replace('IMAGE_NAME: ""', "IMAGE_NAME: old/name"),  # a plain value is replaced
    GENERATED.replace('          IMAGE_NAME: ""\n', ""),  # a missing key is added
    GENERATED.replace('IMAGE_NAME: ""', "IMAGE_NAME: >-\n            folded/name"),  # a block scalar
    GENERATED.replace('IMAGE_NAME: ""', 'IMAGE_NAME: "a/b"'),  # already the name asked for
    UPSTREAM_BUILD.read_text(),  # the commented-out placeholder
]


@pytest.mark.parametrize("text", WORKFLOW_SHAPES)
@pytest.mark.parametrize("image", ["a/b", "quay.io/org-x/img_1.2", 'q"uote\\d/na me', "line\nbreak"])
def test_an_edit_is_read_back_as_a_fresh_parse_of_the_file_reads_it(text, image):
    """The values an edit reports are what a parse of the edited text says, for every
    shape of file, and a name YAML would read otherwise (a line break folds to a space)
    is refused, not written."""
    for push_on_pr in (False, True):
        wanted = workflow.PushSettings(image, push_on_pr)
        if "\n" in image:
            with pytest.raises(WorkflowError):
                workflow._edit(text, "build.yaml", wanted.image_name, wanted.no_push)
            continue
        edited, values = workflow._edit(text, "build.yaml", wanted.image_name, wanted.no_push)
        fresh = workflow.round_trip_yaml().compose(edited)
        assert values == workflow._inputs(workflow._action_with_blocks(fresh, "build.yaml")[0])
        assert values["IMAGE_NAME"] == image and values["NO_PUSH"] == wanted.no_push


class FakeClock(Clock):
    """Time that passes only when something waits: no test sleeps to prove a wait."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.waits: list[float] = []

    def now(self) -> float:
        return self.t

    def wait(self, seconds: float, stop: threading.Event | None = None) -> bool:
        if stop is not None and stop.is_set():
            return True
        self.waits.append(seconds)
        self.t += seconds
        return False


def test_the_pacer_never_admits_more_than_the_window_allows():
    clock = FakeClock()
    pacer = Pacer([(3, 60.0)], clock)
    starts = []
    for _ in range(7):
        with pacer.write():
            starts.append(clock.now())
    # Three at once, then each as soon as the oldest of the last three leaves the minute.
    assert all(starts[i + 3] - starts[i] >= 60.0 for i in range(len(starts) - 3))
    assert starts[:3] == [1000.0] * 3 and 1060.0 <= starts[3] < 1061.1
    assert pacer.waited >= 120.0


def test_a_stopped_pacer_admits_nothing_more():
    pacer = Pacer([(1, 60)], FakeClock())
    with pacer.write():
        pass
    pacer.stop.set()
    with pytest.raises(KeyboardInterrupt), pacer.write():
        pass


@pytest.mark.parametrize(
    "writes, repeated, first",
    [
        ([1] * 100, 2, 78),  # 78 repositories and the 2 secrets fill the first minute; 22 and 2 again the next
        ([2] * 100, 2, 39),  # two writes an image (a variable too): 39 fit beside the secrets
        ([1] * 50, 2, 50),  # everything in the first minute: one round
        ([1] * 158, 2, 158),  # 160 writes fill 2 minutes; the repeat would take a third: one round
        ([1] * 497, 2, 497),  # 499 writes fit the hour; the repeat would not: one round
    ],
)
def test_a_fleets_first_round_is_what_the_first_minute_holds_when_the_repeat_costs_no_window(writes, repeated, first):
    from hub_image.pacing import GITHUB_WINDOWS

    assert Pacer(GITHUB_WINDOWS, FakeClock()).first_round(writes, repeated) == first


def test_a_long_wait_of_the_pacer_is_announced_once():
    pacer = Pacer([(1, 5.2)], FakeClock())
    told: list[float] = []
    pacer.on_wait = told.append
    for _ in range(2):
        with pacer.write():
            pass
    assert told == [pytest.approx(5.2)]


def test_a_short_retry_after_is_counted_down_and_a_long_one_stops_the_run():
    from github.GithubException import RateLimitExceededExceedsMaxWait

    from hub_image.github_api import COUNTDOWN_EVERY, BoundedRetry

    class Answer:  # what urllib3 hands a Retry: a status and headers
        status = 403
        headers = {"Retry-After": "95"}

    clock, told = FakeClock(), list[float]()
    retry = BoundedRetry(total=5, max_rate_limit_wait=300, on_wait=told.append, clock=clock)
    assert retry.sleep_for_retry(Answer()) is True
    assert clock.t == pytest.approx(1095.0)  # waited the whole 95 s, in the clock's time
    assert told == [pytest.approx(95 - n * COUNTDOWN_EVERY) for n in range(4)]  # 95, 65, 35, 5 s left
    Answer.headers = {"Retry-After": "3600"}
    with pytest.raises(RateLimitExceededExceedsMaxWait):
        retry.sleep_for_retry(Answer())
    stopped = threading.Event()
    stopped.set()
    Answer.headers = {"Retry-After": "10"}
    with pytest.raises(KeyboardInterrupt):
        BoundedRetry(total=5, stop=stopped, clock=FakeClock()).sleep_for_retry(Answer())


def test_a_multi_line_key_is_missing_even_with_a_terminal_to_ask_on():
    from hub_image.repo_setup import credentials_available

    assert credentials_available("artifact-registry", environ={}, interactive=True) == ["GCP_SA_KEY (or GCP_SA_KEY_FILE)"]
    assert credentials_available("artifact-registry", environ={"GCP_SA_KEY_FILE": "key.json"}, interactive=True) == []
    assert credentials_available("quay.io", environ={}, interactive=True) == []
    assert credentials_available("quay.io", environ={}, interactive=False) == ["QUAY_USERNAME", "QUAY_PASSWORD"]
