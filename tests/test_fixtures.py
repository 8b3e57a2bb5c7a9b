"""Our copies of upstream files stay verbatim (checked against ../shared when present)."""

import pytest

from conftest import FIXTURES, TEMPLATE

SHARED = TEMPLATE.parent / "shared" / "fixtures" / "upstream"


@pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/fixtures beside this checkout")
@pytest.mark.parametrize(
    "relative",
    ["2i2c-hub-user-image-template/.github/workflows/build.yaml", "repo2docker-action/action.yml"],
)
def test_upstream_fixture_is_a_verbatim_copy(relative: str):
    assert (FIXTURES / "upstream" / relative).read_bytes() == (SHARED / relative).read_bytes()
