"""[ivr] programmes: the installation's programmes, the first the default; `programme` and
IVR_PROGRAMME still name one (IVR_PROGRAMME several, separated by commas); an unknown name,
a name twice or keys that disagree are refused, naming the file."""
import pytest

from ivr.config import ConfigError, load_config


def config(tmp_path, text: str, **env: str):
    (tmp_path / "ivr.toml").write_text(text, encoding="utf-8")
    return load_config(env={"IVR_HOME": str(tmp_path), **env})


@pytest.mark.parametrize("text,env,programmes", [
    ("", {}, ("mmitra",)),
    ('[ivr]\nprogramme = "kilkari"\n', {}, ("kilkari",)),
    ('[ivr]\nprogrammes = ["mmitra", "pesinet"]\n', {}, ("mmitra", "pesinet")),
    ('[ivr]\nprogramme = "pesinet"\nprogrammes = ["pesinet", "m2m"]\n', {}, ("pesinet", "m2m")),
    ('[ivr]\nprogrammes = ["mmitra", "pesinet"]\n', {"IVR_PROGRAMME": "m2m"}, ("m2m",)),
    ("", {"IVR_PROGRAMME": "pesinet, mmitra"}, ("pesinet", "mmitra")),
])
def test_programmes_configured(tmp_path, text, env, programmes):
    cfg = config(tmp_path, text, **env)
    assert cfg.programmes == programmes and cfg.programme == programmes[0]


def test_programmes_a_programme_file_by_path(tmp_path):
    own = tmp_path / "own.toml"
    own.write_text("x", encoding="utf-8")
    cfg = config(tmp_path, f'[ivr]\nprogrammes = ["mmitra", "{own}"]\n')
    assert cfg.programmes == ("mmitra", str(own))


@pytest.mark.parametrize("text,env,message", [
    ('[ivr]\nprogrammes = ["mmitra", "nosuch"]\n', {},
     r"\[ivr\] programmes in .*ivr.toml: no programme named 'nosuch' \(shipped: kilkari, m2m"),
    ('[ivr]\nprogramme = "nosuch"\n', {}, r"\[ivr\] programme in .*: no programme named 'nosuch'"),
    ("", {"IVR_PROGRAMME": "mmitra,nosuch"}, r"IVR_PROGRAMME: no programme named 'nosuch'"),
    ('[ivr]\nprogramme = "kilkari"\nprogrammes = ["mmitra", "kilkari"]\n', {},
     r"programme = 'kilkari' and programmes = \['mmitra', 'kilkari'\] .* disagree"),
    ('[ivr]\nprogrammes = []\n', {}, r"must be a non-empty list of programme names"),
    ('[ivr]\nprogrammes = "mmitra"\n', {}, r"must be a non-empty list of programme names"),
    ('[ivr]\nprogrammes = ["mmitra", "mmitra"]\n', {}, r"a programme is named twice"),
])
def test_programmes_refused(tmp_path, text, env, message):
    with pytest.raises(ConfigError, match=message):
        config(tmp_path, text, **env)
