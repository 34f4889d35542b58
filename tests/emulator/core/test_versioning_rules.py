"""The versioning rules on their own: host.json settings, version comparison, the decision."""

import pytest

from emulator.core.versioning import (
    VersionDecision,
    VersionFailureStrategy,
    VersioningConfigError,
    VersioningSettings,
    VersionMatchStrategy,
    compare_versions,
)


def _settings(**durable):
    return VersioningSettings.from_host_json({"extensions": {"durableTask": durable}})


def test_defaults_are_the_extensions_current_or_older_and_reject():
    settings = _settings()
    assert settings.default_version is None
    assert settings.match_strategy is VersionMatchStrategy.CURRENT_OR_OLDER
    assert settings.failure_strategy is VersionFailureStrategy.REJECT
    assert VersioningSettings.from_host_json({}) == settings


def test_settings_are_read_case_insensitively_and_accept_enum_numbers():
    settings = _settings(DefaultVersion="2.0", versionmatchstrategy="strict",
                         VERSIONFAILURESTRATEGY=1)
    assert settings.default_version == "2.0"
    assert settings.match_strategy is VersionMatchStrategy.STRICT
    assert settings.failure_strategy is VersionFailureStrategy.FAIL
    assert _settings(versionMatchStrategy="0").match_strategy is VersionMatchStrategy.NONE
    assert _settings(defaultVersion=2).default_version == "2"


@pytest.mark.parametrize("key,value", [("versionMatchStrategy", "Newest"),
                                       ("versionFailureStrategy", "Retry"),
                                       ("versionMatchStrategy", 7),
                                       ("defaultVersion", {"v": 1})])
def test_bad_settings_name_the_setting(key, value):
    with pytest.raises(VersioningConfigError, match=key):
        _settings(**{key: value})


@pytest.mark.parametrize("source,other,expected", [
    (None, None, 0), ("", None, 0), ("  ", "", 0),
    (None, "1.0", -1), ("1.0", "", 1),
    ("1.0", "1.0", 0), ("1.2", "1.10", -1),  # numeric, not lexical
    ("2.0", "1.9.9", 1), ("1.0", "1.0.0", -1),  # System.Version: missing parts are -1
    ("1", "2", -1),  # one part is not a System.Version: ordinal strings
    ("10", "9", -1),  # ... so "10" < "9"
    ("v2-beta", "V2-BETA", 0), ("2025-01-02", "2025-01-10", -1),
    ("1.0", "abc", -1),  # mixed: strings
])
def test_compare_versions_follows_dtfx(source, other, expected):
    assert compare_versions(source, other) == expected


def test_new_instances_get_the_explicit_version_or_the_default():
    settings = _settings(defaultVersion="2.0")
    assert settings.version_for_new_instance(None) == "2.0"
    assert settings.version_for_new_instance("1.0") == "1.0"
    assert settings.version_for_new_instance("") == ""
    assert _settings().version_for_new_instance(None) is None


@pytest.mark.parametrize("strategy,instance,expected", [
    ("None", "9.0", VersionDecision.RUN),
    ("CurrentOrOlder", "1.0", VersionDecision.RUN),
    ("CurrentOrOlder", "2.0", VersionDecision.RUN),
    ("CurrentOrOlder", None, VersionDecision.RUN),  # unversioned is older than anything
    ("CurrentOrOlder", "2.1", VersionDecision.REJECT),
    ("Strict", "2.0", VersionDecision.RUN),
    ("Strict", "1.0", VersionDecision.REJECT),
    ("Strict", "2.00", VersionDecision.REJECT),  # ordinal equality, not numeric
])
def test_decision_with_default_version_2(strategy, instance, expected):
    settings = _settings(defaultVersion="2.0", versionMatchStrategy=strategy)
    assert settings.decide(instance) is expected


def test_fail_strategy_fails_instead_of_rejecting():
    settings = _settings(defaultVersion="1.0", versionFailureStrategy="Fail")
    assert settings.decide("2.0") is VersionDecision.FAIL
    assert settings.decide("1.0") is VersionDecision.RUN


def test_without_a_default_version_only_unversioned_instances_run():
    settings = _settings()
    assert settings.decide(None) is VersionDecision.RUN
    assert settings.decide("") is VersionDecision.RUN
    assert settings.decide("1.0") is VersionDecision.REJECT
    strict = _settings(versionMatchStrategy="Strict")
    assert strict.decide(None) is VersionDecision.RUN
    assert strict.decide("") is VersionDecision.REJECT  # DTFx compares null != "" ordinally
