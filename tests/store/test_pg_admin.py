"""The private cluster's administration (ivr/adapters/pg_admin.py through
ivr/sandbox/postgres.py's Cluster): databases made, copied from a template, dropped; a role
that must give its password; names that are not plain refused before any statement runs."""
from __future__ import annotations

import psycopg
import pytest

from ivr.adapters import pg_admin
from ivr.errors import Unavailable
from ivr.sandbox.postgres import PostgresError


def test_a_database_made_copied_from_its_template_and_dropped(pg_cluster):
    dsn = pg_cluster.create_database("admin_made")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (x INTEGER)")
        conn.execute("INSERT INTO kept VALUES (7)")
    copy = pg_cluster.create_database("admin_copy", template="admin_made")
    with psycopg.connect(copy) as conn:
        assert conn.execute("SELECT x FROM kept").fetchall() == [(7,)]
    assert {"admin_made", "admin_copy"} <= pg_cluster.databases()
    pg_cluster.drop_database("admin_copy")
    pg_cluster.drop_database("admin_copy")                  # IF EXISTS: twice is no error
    pg_cluster.drop_database("admin_made")
    assert not {"admin_made", "admin_copy"} & pg_cluster.databases()


def test_a_database_that_exists_already_is_unavailable_with_the_dsn_masked(pg_cluster):
    pg_cluster.create_database("admin_twice")
    try:
        with pytest.raises(Unavailable, match='"admin_twice" already exists') as e:
            pg_admin.create_database(pg_cluster.dsn() + "&password=hunter2", "admin_twice")
        assert "password=***" in str(e.value) and "hunter2" not in str(e.value)
    finally:
        pg_cluster.drop_database("admin_twice")


@pytest.mark.parametrize("name", ["Upper", "semi;colon", "1digit", "x" * 64, ""])
def test_a_name_that_is_not_plain_is_refused(pg_cluster, name):
    before = pg_cluster.databases()
    with pytest.raises(PostgresError, match="not a plain"):
        pg_cluster.create_database(name)
    with pytest.raises(PostgresError, match="not a plain"):
        pg_cluster.drop_database(name)
    assert pg_cluster.databases() == before


def test_a_password_role_logs_in_with_its_password_only(pg_cluster):
    password = "it's-a-secret"                      # a quote: the literal is quoted for us
    dsn = pg_cluster.password_role("admin_login", password)
    with psycopg.connect(dsn, password=password) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("admin_login",)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(dsn, password="wrong").close()


def test_a_script_gives_the_rows_of_its_last_statement_postgres(pg_cluster):
    """Cluster.sql / pg_admin.run_script: several statements, the rows of the last one (as
    their docstrings say; psycopg's cursor stands on the first result)."""
    assert pg_cluster.sql("SELECT 1; SELECT 2, 'two'") == [(2, "two")]
    assert pg_cluster.sql("CREATE TEMP TABLE t (x INTEGER); INSERT INTO t VALUES (5); "
                          "SELECT x FROM t") == [(5,)]
    assert pg_cluster.sql("SELECT 3; CREATE TEMP TABLE u (x INTEGER)") == []
    assert pg_cluster.sql("SELECT 4") == [(4,)]
