"""The rules, in-process and fast, beside the end-to-end tests that run them through the
CLI: the workflow edits (what each request changes, and what is kept) and the pacer."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from conftest import UPSTREAM_BUILD
from hub_image import workflow
from hub_image.errors import WorkflowError
from hub_image.fleet import Pacer

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
    with pytest.raises(WorkflowError, match="every leg push to the same image"):
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
def test_a_fleets_shared_read_back_says_what_reading_the_edited_file_says(text, image):
    """Images whose names differ share one read-back of the edited workflow (the name's
    characters mean nothing in a double-quoted scalar); it must agree with a parse of
    each image's own text, for every shape of file, and a name YAML would read otherwise
    (a line break folds to a space) is refused, not written."""
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


def test_every_error_crosses_from_the_render_process_as_it_was():
    """A fleet renders in a process of its own; an error raised there is pickled back."""
    import pickle

    from hub_image import errors

    made = [
        errors.AnswerError("image_name", "use namespace/name"),
        errors.SetupError("creating the repository failed", ["created demo-org/x"]),
        errors.WorkflowError("build.yaml: no step uses the action"),
        errors.TemplateError("no cookiecutter.json"),
        errors.GitError("git push failed"),
        errors.ManifestError("fleet.yaml:3: owner: is missing"),
    ]
    for error in made:
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and str(back) == str(error) and vars(back) == vars(error)


def test_the_pacer_never_admits_more_than_the_window_allows():
    pacer = Pacer([(3, 0.3)])
    starts: list[float] = []
    lock = threading.Lock()

    def write():
        with pacer.write(), lock:
            starts.append(time.monotonic())

    threads = [threading.Thread(target=write) for _ in range(7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    starts.sort()
    assert len(starts) == 7
    # Any 4 consecutive writes span at least the window: never 4 within 0.3 s.
    assert all(starts[i + 3] - starts[i] >= 0.3 - 0.01 for i in range(len(starts) - 3))


def test_a_stopped_pacer_admits_nothing_more():
    pacer = Pacer([(1, 60)])
    with pacer.write():
        pass
    pacer.stop.set()
    with pytest.raises(KeyboardInterrupt), pacer.write():
        pass


def test_a_long_wait_of_the_pacer_is_announced():
    pacer = Pacer([(1, 5.2)])
    told: list[float] = []
    pacer.on_wait = told.append
    with pacer.write():
        pass
    with pacer.write():
        pass
    assert len(told) == 1 and 4.5 < told[0] <= 5.2


def test_a_multi_line_key_is_missing_even_with_a_terminal_to_ask_on():
    from hub_image.repo_setup import credentials_available

    assert credentials_available("artifact-registry", environ={}, interactive=True) == ["GCP_SA_KEY (or GCP_SA_KEY_FILE)"]
    assert credentials_available("artifact-registry", environ={"GCP_SA_KEY_FILE": "key.json"}, interactive=True) == []
    assert credentials_available("quay.io", environ={}, interactive=True) == []
    assert credentials_available("quay.io", environ={}, interactive=False) == ["QUAY_USERNAME", "QUAY_PASSWORD"]
