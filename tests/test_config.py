"""Settings: defaults < TOML < environment < CLI flags; clear errors for bad values."""

from pathlib import Path

import pytest

from graphfraud.config import load_settings
from graphfraud.errors import UsageError


@pytest.fixture
def no_env(monkeypatch):
    for var in ("NEO4J_URI", "NEO4J_USER", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE",
                "GRAPHFRAUD_CONFIG", "GRAPHFRAUD_BOLT_PORT", "GRAPHFRAUD_BATCH_SIZE", "GRAPHFRAUD_STATE_DIR"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_defaults_point_at_the_local_server(no_env, tmp_path):
    no_env.chdir(tmp_path)
    s = load_settings()
    assert s.uri == "bolt://127.0.0.1:7687"
    assert s.is_local
    assert s.neo4j_user == "neo4j" and s.neo4j_database == "neo4j"


def test_layers_apply_in_order(no_env, tmp_path: Path):
    cfg = tmp_path / "g.toml"
    cfg.write_text('[graphfraud]\nbatch_size = 111\nbolt_port = 7999\nneo4j_database = "fromtoml"\n')
    s = load_settings(cfg)
    assert (s.batch_size, s.bolt_port, s.neo4j_database) == (111, 7999, "fromtoml")
    assert s.uri == "bolt://127.0.0.1:7999"

    no_env.setenv("GRAPHFRAUD_BATCH_SIZE", "222")
    no_env.setenv("NEO4J_DATABASE", "fromenv")
    s = load_settings(cfg)
    assert (s.batch_size, s.neo4j_database) == (222, "fromenv")

    s = load_settings(cfg, batch_size=333, neo4j_database=None)  # None = flag not given
    assert (s.batch_size, s.neo4j_database) == (333, "fromenv")


def test_remote_uri_is_not_local(no_env):
    no_env.setenv("NEO4J_URI", "neo4j+s://abc.databases.neo4j.io")
    s = load_settings()
    assert s.uri == "neo4j+s://abc.databases.neo4j.io" and not s.is_local


def test_bad_values_are_named(no_env, tmp_path: Path):
    no_env.setenv("GRAPHFRAUD_BOLT_PORT", "seven")
    with pytest.raises(UsageError, match="GRAPHFRAUD_BOLT_PORT"):
        load_settings()
    no_env.delenv("GRAPHFRAUD_BOLT_PORT")
    cfg = tmp_path / "bad.toml"
    cfg.write_text("nonsense_key = 1\n")
    with pytest.raises(UsageError, match="unknown setting 'nonsense_key'"):
        load_settings(cfg)
    with pytest.raises(UsageError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_values_out_of_range_are_refused_with_the_range(no_env, tmp_path: Path):
    """A share above 1 or a negative count would quietly switch a feature off or on; it is refused where read."""
    no_env.chdir(tmp_path)
    no_env.setenv("GRAPHFRAUD_TRIAGE_BELOW", "1.5")
    with pytest.raises(UsageError, match=r"triage_below from GRAPHFRAUD_TRIAGE_BELOW: 1.5 is out of range "
                                         r"\(it must be between 0.0 and 1.0\)"):
        load_settings()
    no_env.delenv("GRAPHFRAUD_TRIAGE_BELOW")
    with pytest.raises(UsageError, match=r"reraise_growth from the command line: -0.1 .* at least 0.0"):
        load_settings(reraise_growth=-0.1)
    cfg = tmp_path / "g.toml"
    cfg.write_text("[graphfraud]\nensemble = 0\n")
    with pytest.raises(UsageError, match=rf"ensemble from {cfg}: 0 .* at least 1"):
        load_settings(cfg)
    # The bounds themselves are allowed: 0 switches triage and ring memory off, 1.0 holds back every new ring.
    s = load_settings(triage_below=1.0, triage_min_each=0, ring_memory_runs=0, reraise_growth=0)
    assert (s.triage_below, s.triage_min_each, s.ring_memory_runs, s.reraise_growth) == (1.0, 0, 0, 0.0)


def test_password_never_in_repr(no_env):
    no_env.setenv("NEO4J_PASSWORD", "s3cret-value")
    s = load_settings()
    assert s.password() == "s3cret-value"
    assert "s3cret-value" not in repr(s)
