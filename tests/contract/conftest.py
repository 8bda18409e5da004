import itertools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))   # for `import contract_stores`

from contract_stores import STORES, open_face  # noqa: E402
from scheduler.programme import load_programme  # noqa: E402


_BOTH = itertools.count(1)


@pytest.fixture(scope="session")
def programme():
    return load_programme("mmitra")


@pytest.fixture
def new_pg_database(request):
    """Makes a new database in the private PostgreSQL, started only when a test needs it."""
    return lambda: request.getfixturevalue("pg_dsn")


@pytest.fixture(params=STORES)
async def face(request, programme, tmp_path, new_pg_database):
    """One store behind the common async face; the same test runs against each."""
    f = await open_face(request.param, programme, tmp_path, new_pg_database)
    yield f
    await f.close()


@pytest.fixture
async def both(programme, tmp_path, pg_cluster):
    """Every store side by side, to compare their answers on the same scenario."""
    faces = [await open_face(kind, programme, tmp_path,
                             lambda: pg_cluster.create_database(f"both{next(_BOTH)}"))
             for kind in STORES]
    yield faces
    for f in faces:
        await f.close()
