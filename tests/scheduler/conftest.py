import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))   # for `import helpers`

from scheduler.programme import load_programme  # noqa: E402


@pytest.fixture(scope="session")
def mmitra():
    return load_programme("mmitra")


@pytest.fixture(scope="session")
def kilkari():
    return load_programme("kilkari")
