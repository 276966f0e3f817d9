import pytest

from appliance.config import load_config
from appliance.errors import ConfigError
from tests.support.paths import REPO


def test_defaults_without_any_file(tmp_path):
    cfg = load_config(env={}, state_dir=tmp_path)
    assert cfg.device.country == "DE"
    assert cfg.signer.kind == "software"
    assert cfg.state_dir == tmp_path
    assert cfg.source == "<defaults>"


def test_precedence_file_env_overrides(tmp_path):
    toml = tmp_path / "a.toml"
    toml.write_text('[device]\nissuer = "From file"\nid = "dev-file"\n[sync]\nbatch_size = 100\n')
    env = {"APPLIANCE_CONFIG": str(toml), "APPLIANCE_SYNC__BATCH_SIZE": "250", "APPLIANCE_STATE_DIR": str(tmp_path / "s")}
    cfg = load_config(env=env, overrides={"device": {"id": "dev-test"}})
    assert cfg.device.issuer == "From file"
    assert cfg.sync.batch_size == 250          # env beats file
    assert cfg.device.id == "dev-test"         # overrides beat file
    assert cfg.state_dir == tmp_path / "s"
    assert cfg.source == str(toml)


@pytest.mark.parametrize("text, needle", [
    ('[nosuch]\nx = 1\n', "unknown section [nosuch]"),
    ('[device]\nnosuch = 1\n', "unknown key [device] nosuch"),
    ('[sync]\nbatch_size = "many"\n', "[sync] batch_size"),
    ('[printer]\nkind = "usbb"\n', "[printer] kind='usbb'"),
    ('[issue]\nqr_ecc = "X"\n', "[issue] qr_ecc"),
    ('[device]\ncountry = "Germany"\n', "[device] country"),
    ('not toml at all [', "not valid TOML"),
])
def test_errors_name_file_and_key(tmp_path, text, needle):
    toml = tmp_path / "bad.toml"
    toml.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(toml, env={})
    assert needle in str(err.value)
    if "TOML" not in needle:
        assert str(toml) in str(err.value) or "environment" in str(err.value)


def test_missing_named_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(env={"APPLIANCE_CONFIG": str(tmp_path / "missing.toml")})


def test_env_error_names_the_environment(tmp_path):
    with pytest.raises(ConfigError, match="environment: \\[sync\\] batch_size"):
        load_config(env={"APPLIANCE_SYNC__BATCH_SIZE": "lots"}, state_dir=tmp_path)


def test_the_example_config_documents_every_key_and_loads():
    import dataclasses
    import tomllib

    from appliance.config import SECTIONS

    example = REPO / "provisioning" / "appliance.toml.example"
    data = tomllib.loads(example.read_text(encoding="utf-8"))
    for name, cls in SECTIONS.items():
        assert set(data.get(name, {})) == {f.name for f in dataclasses.fields(cls)}, name
    load_config(example, env={})
