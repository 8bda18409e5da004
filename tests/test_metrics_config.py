"""[metrics] in ivr.toml: off by default, loopback or private addresses only."""
import pytest

from ivr.config import ConfigError, load_config


def config(tmp_path, text):
    (tmp_path / "ivr.toml").write_text(text, encoding="utf-8")
    return load_config(env={"IVR_HOME": str(tmp_path)})


def test_metrics_are_off_by_default_on_loopback(tmp_path):
    m = config(tmp_path, "").metrics
    assert (m.enabled, m.host, m.port) == (False, "127.0.0.1", 9464)
    m = config(tmp_path, '[metrics]\nenabled = true\nhost = "10.0.0.5"\nport = 9100\n').metrics
    assert (m.enabled, m.host, m.port) == (True, "10.0.0.5", 9100)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "8.8.8.8", "2001:4860::1", "example.org"])
def test_a_public_or_wildcard_metrics_address_is_refused(tmp_path, host):
    with pytest.raises(ConfigError, match=f"metrics.host '{host}'.*loopback or a private"):
        config(tmp_path, f'[metrics]\nenabled = true\nhost = "{host}"\n')


def test_bad_metrics_keys_and_types_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['bind'\] in \[metrics\]"):
        config(tmp_path, '[metrics]\nbind = "x"\n')
    with pytest.raises(ConfigError, match="metrics.port must be int"):
        config(tmp_path, '[metrics]\nport = "9100"\n')
    with pytest.raises(ConfigError, match="metrics.port 70000"):
        config(tmp_path, '[metrics]\nport = 70000\n')


async def test_a_busy_metrics_port_is_a_clear_error():
    import socket
    from ivr.metrics import Metrics
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"metrics: cannot listen on 127.0.0.1:{port}: "
                                          "Address already in use"):
            Metrics(dialer=None).serve("127.0.0.1", port)
