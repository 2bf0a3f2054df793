import pytest

from analysis_lib import ConfigError, load_settings
from analysis_lib.settings import read_only_settings


def test_database_url_is_normalised_to_psycopg3():
    settings = load_settings({"DATABASE_URL": "postgres://ana:s3cret@db.example:6543/gis"})
    assert settings.url.drivername == "postgresql+psycopg"
    assert (settings.url.host, settings.url.port, settings.url.database) == ("db.example", 6543, "gis")
    assert settings.source == "DATABASE_URL"
    assert settings.target == "ana@db.example:6543/gis"


def test_database_url_wins_over_pg_variables():
    settings = load_settings({"DATABASE_URL": "postgresql://a@h/d", "PGHOST": "elsewhere"})
    assert settings.url.host == "h"


def test_pg_variables_leave_the_url_to_libpq():
    settings = load_settings({"PGHOST": "db", "PGUSER": "workbench", "PGDATABASE": "workbench"})
    assert settings.source == "PG* environment"
    assert settings.url.host is None and settings.url.username is None
    assert settings.target == "workbench@db:5432/workbench"


def test_target_never_shows_the_password():
    settings = load_settings({"DATABASE_URL": "postgresql://ana:s3cret@h:5432/d"})
    assert "s3cret" not in settings.target
    assert "s3cret" not in repr(settings)


def test_nothing_configured_says_what_to_set():
    with pytest.raises(ConfigError, match="set DATABASE_URL.*PGHOST"):
        load_settings({"HOME": "/home/lab"})


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u:p@h/d", "uses 'mysql'"),
        ("postgresql+psycopg2://u:p@h/d", "uses 'postgresql\\+psycopg2'"),
        ("not a url", "DATABASE_URL is not a database URL"),
        ("postgresql://u:p@h:port/d", "port that is not a number"),
    ],
)
def test_bad_database_url_is_named(url, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({"DATABASE_URL": url})


def test_bad_pgport_is_named():
    with pytest.raises(ConfigError, match="PGPORT='fivefourthreetwo'"):
        load_settings({"PGHOST": "db", "PGPORT": "fivefourthreetwo"})


def test_missing_password_file_is_named(tmp_path):
    missing = tmp_path / "pgpass"
    with pytest.raises(ConfigError, match=f"PGPASSFILE={missing} does not exist"):
        load_settings({"PGHOST": "db", "PGPASSFILE": str(missing)})


def test_read_only_settings_take_the_analyst_url_next_to_database_url():
    settings = read_only_settings({"DATABASE_URL": "postgresql://owner:a@h:5432/d", "ANALYST_DATABASE_URL": "postgresql://analyst:b@h:5432/d"})
    assert (settings.url.username, settings.source, settings.target) == ("analyst", "ANALYST_DATABASE_URL", "analyst@h:5432/d")


def test_read_only_settings_refuse_database_url_without_the_analyst_url():
    with pytest.raises(ConfigError, match="needs ANALYST_DATABASE_URL next to DATABASE_URL"):
        read_only_settings({"DATABASE_URL": "postgresql://owner:a@h:5432/d"})


def test_read_only_settings_with_pg_variables_change_only_the_user():
    settings = read_only_settings({"PGHOST": "db", "PGUSER": "workbench", "PGDATABASE": "workbench"})
    assert settings.url.username == "analyst" and settings.url.host is None  # libpq adds the rest and the password file's line
    assert settings.target == "analyst@db:5432/workbench"


def test_the_engine_url_is_what_libpq_reads_so_every_connection_goes_to_one_place():
    settings = load_settings({"DATABASE_URL": "postgresql://ana:p%40ss%2Fw@db.example:6543/gis?sslmode=require&application_name=x"})
    url = settings.url
    assert (url.username, url.password, url.host, url.port, url.database) == ("ana", "p@ss/w", "db.example", 6543, "gis")
    assert dict(url.query) == {"sslmode": "require", "application_name": "x"}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://u:50%off@h/db", "percent-encode special characters"),
        ("postgresql://u:pa/ss@h/db", "port that is not a number.*percent-encode"),
        ("postgresql://u@h1:5432,h2:5433/db", "names several hosts"),
    ],
)
def test_a_url_libpq_would_read_otherwise_than_meant_is_refused_with_its_fix(url, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({"DATABASE_URL": url})
