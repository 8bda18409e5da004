import pytest
from pathlib import Path

from ivr.config import ConfigError, load_config


def write(tmp_path, text):
    p = tmp_path / "ivr.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_without_a_file(tmp_path):
    cfg = load_config(env={"IVR_HOME": str(tmp_path)})
    assert cfg.home == tmp_path and cfg.database == tmp_path / "ivr.db"
    assert cfg.sounds == tmp_path / "sounds" and cfg.agi_host == "127.0.0.1"
    assert cfg.trunk().name == "sim" and cfg.source is None
    assert cfg.agi_max_connections == 1000


def test_the_installations_zone_for_times_of_no_programme(tmp_path):
    assert load_config(env={"IVR_HOME": str(tmp_path)}).installation_zone == "UTC"
    write(tmp_path, '[ivr]\ntimezone = "Asia/Kolkata"\n')
    cfg = load_config(env={"IVR_HOME": str(tmp_path)})
    assert (cfg.timezone, cfg.installation_zone) == ("Asia/Kolkata", "Asia/Kolkata")
    cfg = load_config(env={"IVR_HOME": str(tmp_path), "IVR_TIMEZONE": "Africa/Bamako"})
    assert cfg.installation_zone == "Africa/Bamako"                  # the variable first
    with pytest.raises(ConfigError, match="IVR_TIMEZONE: unknown time zone 'Nowhere'"):
        load_config(env={"IVR_HOME": str(tmp_path), "IVR_TIMEZONE": "Nowhere"})


def test_fastagi_connection_limit_is_read(tmp_path):
    write(tmp_path, "[agi]\nmax_connections = 64\n")
    assert load_config(env={"IVR_HOME": str(tmp_path)}).agi_max_connections == 64


def test_file_in_home_is_read_and_env_overrides_secrets(tmp_path):
    write(tmp_path, '[ami]\nsecret = "from-file"\nport = 15038\n[ivr]\ncall_centre = true\n'
                    '[[trunk]]\nname = "carrier"\ndial = "PJSIP/{digits}@carrier"\ncps = 20\n')
    cfg = load_config(env={"IVR_HOME": str(tmp_path), "IVR_AMI_SECRET": "from-env"})
    assert cfg.ami.secret == "from-env" and cfg.ami.port == 15038 and cfg.call_centre
    assert cfg.trunk("carrier").cps == 20.0
    with pytest.raises(ConfigError, match="no trunk named 'sim'"):
        cfg.trunk("sim")


@pytest.mark.parametrize("text,message", [
    ("[ami]\nport = \"5038\"\n", r"ami.port must be int"),
    ("[amii]\n", r"unknown section"),
    ("[agi]\nhost = \"0.0.0.0\"\n", r"never 0.0.0.0 or a public one"),
    ("[agi]\nhost = \"172.217.3.4\"\n", r"agi.host '172.217.3.4' refused"),   # Google's, public
    ("[agi]\nhost = \"192.169.0.1\"\n", r"agi.host '192.169.0.1' refused"),
    ("[agi]\nhost = \"10.example.org\"\n", r"not an IP address"),
    ("[agi]\nhost = \"::ffff:8.8.8.8\"\n", r"refused"),
    ("[[trunk]]\nname = \"x\"\ndial = \"PJSIP/carrier\"\n", r"must contain \{digits\}"),
    ("[[trunk]]\nname = \"x\"\n", r"needs both 'name' and 'dial'"),
    ("[ami\n", r"ivr.toml"),
    ("[ivr]\ncall_centre = 1\n", r"ivr.call_centre must be bool"),
    ("[ami]\nsecrett = \"x\"\n", r"unknown key\(s\) \['secrett'\] in \[ami\]"),
    ("[[trunk]]\nname = \"x\"\ndial = \"L/{digits}\"\ncsp = 3\n", r"unknown key.*trunk\[0\]"),
    ('[[trunk]]\nname = "x"\ndial = "L/{digits}"\n[[trunk]]\nname = "x"\ndial = "M/{digits}"\n',
     r"trunk\[1\]: a second trunk named 'x'"),
    ('[[trunk]]\nname = "x"\ndial = "L/{digits}"\nchannels = 0\n', r"channels must be >= 1"),
    ('[[trunk]]\nname = "x"\ndial = "L/{digits}"\ncps = 0\n', r"cps > 0"),
    ('[[trunk]]\nname = "x"\ndial = "L/{digits}"\nrun = "no"\n', r"trunk\[0\].run must be bool"),
    ('[[trunk]]\nname = "x"\ndial = "L/{digits}"\nrest_after = -1\n', r"rest_after must be >= 0"),
    ('[[trunk]]\nname = "x"\ndial = "L/{digits}"\nrest_seconds = 0\n', r"rest_seconds > 0"),
    ("[agi]\nmax_connections = 0\n", r"agi.max_connections must be 1..100000"),
    ('[ivr]\ntimezone = "Asia/Pune"\n', r"\[ivr\] timezone in .*unknown time zone 'Asia/Pune'"),
    ("[ivr]\ntimezone = 5\n", r"ivr.timezone must be str"),
])
def test_bad_files_get_a_clear_error(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message):
        load_config(path, env={"IVR_HOME": str(tmp_path)})


def test_missing_explicit_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", env={"IVR_HOME": str(tmp_path)})


def test_ivr_run_uses_every_trunk_without_run_false_unless_trunks_are_named(tmp_path):
    write(tmp_path, '[[trunk]]\nname = "a"\ndial = "L/{digits}"\n'
                    '[[trunk]]\nname = "spare"\ndial = "S/{digits}"\nrun = false\n'
                    '[[trunk]]\nname = "b"\ndial = "M/{digits}"\n')
    cfg = load_config(env={"IVR_HOME": str(tmp_path)})
    assert [t.name for t in cfg.run_trunks()] == ["a", "b"]
    assert [t.name for t in cfg.run_trunks(["spare", "a", "spare"])] == ["spare", "a"]
    with pytest.raises(ConfigError, match="no trunk named 'c'"):
        cfg.run_trunks(["c"])


def test_ivr_run_needs_a_trunk_when_every_one_has_run_false(tmp_path):
    write(tmp_path, '[[trunk]]\nname = "a"\ndial = "L/{digits}"\nrun = false\n')
    cfg = load_config(env={"IVR_HOME": str(tmp_path)})
    with pytest.raises(ConfigError, match="name one with --trunk"):
        cfg.run_trunks()
    assert cfg.run_trunks(["a"])[0].name == "a"



@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "10.0.0.7", "172.16.0.1",
                                  "172.31.255.254", "192.168.1.20", "fd00::5"])
def test_loopback_and_private_agi_hosts_are_accepted(tmp_path, host):
    path = write(tmp_path, f'[agi]\nhost = "{host}"\n')
    assert load_config(path, env={"IVR_HOME": str(tmp_path)}).agi_host == host


def test_the_missed_call_spool(tmp_path):
    assert load_config(env={"IVR_HOME": str(tmp_path)}).spool == tmp_path / "spool" / "missed"
    write(tmp_path, '[ivr]\nmissed_spool = "in/here"\n')
    assert load_config(env={"IVR_HOME": str(tmp_path)}).spool == tmp_path / "in" / "here"
    cfg = load_config(env={"IVR_HOME": str(tmp_path), "IVR_MISSED_SPOOL": "/srv/spool"})
    assert str(cfg.spool) == "/srv/spool"
    write(tmp_path, '[ivr]\nmissed_spool = 3\n')
    with pytest.raises(ConfigError, match="ivr.missed_spool must be str"):
        load_config(env={"IVR_HOME": str(tmp_path)})


def test_a_postgresql_address_selects_the_postgresql_store(tmp_path):
    f = tmp_path / "ivr.toml"
    f.write_text('[ivr]\ndatabase = "postgresql://ivr:s3cret@db1/ivr"\n')
    c = load_config(f, env={"IVR_HOME": str(tmp_path)})
    assert c.database_url == "postgresql://ivr:s3cret@db1/ivr"
    assert c.store_address == c.database_url
    assert c.database_name == "postgresql://ivr:***@db1/ivr"           # never the password
    assert c.erasure_key == tmp_path / "erasure.key"                  # one file, every node
    env = {"IVR_HOME": str(tmp_path), "IVR_DATABASE": "postgres:///ivr?host=/run/pg",
           "IVR_ERASURE_KEY": "/etc/ivr/erasure.key"}
    c = load_config(f, env=env)
    assert c.store_address == "postgres:///ivr?host=/run/pg"
    assert c.erasure_key == Path("/etc/ivr/erasure.key")


def test_a_path_keeps_sqlite_and_its_key_beside_it(tmp_path):
    c = load_config(None, env={"IVR_HOME": str(tmp_path), "IVR_DATABASE": "x/ivr.db"})
    assert c.database_url is None
    assert c.store_address == tmp_path / "x/ivr.db" == c.database
    assert c.erasure_key is None                  # the store puts it beside the file
