"""sites.toml: defaults, per-site keys, and errors that name the file, the site and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from scraper.crawl.config import SiteConfig, config_path, load_config
from scraper.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sites.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_least_a_site_needs_is_start_urls_and_the_rest_defaults(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path, '[sites.gov]\nstart_urls = ["https://www.example.gov.cn/xwdt/index.html"]\n'
        )
    )
    (site,) = cfg.sites
    assert site == SiteConfig(
        name="gov",
        start_urls=("https://www.example.gov.cn/xwdt/index.html",),
        allowed_hosts=("www.example.gov.cn",),
    )
    assert site.delay == 1.0 and site.revisit_after == 7 * 86400 and site.obey_robots
    assert (site.max_sitemap_depth, site.max_sitemaps) == (3, 1000)


def test_sitemap_bounds_are_set_per_site_or_in_defaults(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            """
[defaults]
max_sitemaps = 50
[sites.a]
start_urls = ["https://a.example.gov.cn/"]
max_sitemap_depth = 0
[sites.b]
start_urls = ["https://b.example.gov.cn/"]
max_sitemaps = 7
""",
        )
    )
    a, b = cfg.sites
    assert (a.max_sitemap_depth, a.max_sitemaps) == (0, 50)
    assert (b.max_sitemap_depth, b.max_sitemaps) == (3, 7)


def test_defaults_table_applies_to_every_site_and_sites_override_it(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            """
[defaults]
delay = 2.5
revisit_after = "12h"
[sites.a]
start_urls = ["https://a.example.gov.cn/"]
feeds = ["https://feeds.example.gov.cn/a.xml"]
[sites.b]
start_urls = ["https://b.example.gov.cn/"]
delay = "0.5s"
""",
        )
    )
    a, b = cfg.sites
    assert (a.delay, a.revisit_after, b.delay, b.revisit_after) == (2.5, 43200.0, 0.5, 43200.0)
    assert a.allowed_hosts == ("a.example.gov.cn", "feeds.example.gov.cn")
    assert cfg.site("b") is b and cfg.site("c") is None


@pytest.mark.parametrize(
    ("body", "site", "key"),
    [
        ("[sites.a]\ndelay = 1\n", "a", "start_urls"),
        ('[sites.a]\nstart_urls = ["ftp://x/"]\n', "a", "start_urls"),
        ('[sites.a]\nstart_urls = ["https://x/"]\ndelay = "soon"\n', "a", "delay"),
        ('[sites.a]\nstart_urls = ["https://x/"]\nmax_list_pages = 0\n', "a", "max_list_pages"),
        ('[sites.a]\nstart_urls = ["https://x/"]\nmax_sitemaps = 0\n', "a", "max_sitemaps"),
        (
            '[sites.a]\nstart_urls = ["https://x/"]\nmax_sitemap_depth = -1\n',
            "a",
            "max_sitemap_depth",
        ),
        (
            '[sites.a]\nstart_urls = ["https://x/"]\nmax_sitemap_depth = 2.5\n',
            "a",
            "max_sitemap_depth",
        ),
        (
            '[sites.a]\nstart_urls = ["https://x/"]\narticle_patterns = ["("]\n',
            "a",
            "article_patterns",
        ),
        ('[sites.a]\nstart_urls = ["https://x/"]\nstart_url = "https://x/"\n', "a", "start_url"),
        ('[sites.a]\nstart_urls = ["https://x/"]\nobey_robots = "no"\n', "a", "obey_robots"),
        ('[defaults]\ndelya = 1\n[sites.a]\nstart_urls = ["https://x/"]\n', None, "delya"),
        ("[sites]\n", None, "sites"),
        # what Python reads as a float, and URLs that split raises on: not to crash the run
        ('[sites.a]\nstart_urls = ["https://x/"]\ndelay = inf\n', "a", "delay"),
        ('[sites.a]\nstart_urls = ["https://x/"]\ndelay = nan\n', "a", "delay"),
        (
            '[sites.a]\nstart_urls = ["https://x/"]\nrevisit_after = "99999d"\n',
            "a",
            "revisit_after",
        ),
        ('[sites.a]\nstart_urls = ["http://[x/"]\n', "a", "start_urls"),
        ('[sites.a]\nstart_urls = ["http://x:8o/"]\n', "a", "start_urls"),
    ],
)
def test_a_bad_config_names_file_site_and_key(
    tmp_path: Path, body: str, site: str | None, key: str
) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert (err.path, err.site, err.key) == (str(path), site, key)
    assert str(path) in str(err) and repr(key) in str(err)


def test_unreadable_or_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[sites.a\n"))


def test_config_path_prefers_option_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVER_CONFIG", "/etc/archiver/sites.toml")
    assert config_path("x.toml") == Path("x.toml")
    assert config_path(None) == Path("/etc/archiver/sites.toml")
    monkeypatch.delenv("ARCHIVER_CONFIG")
    assert config_path(None) == Path("sites.toml")


def test_the_shipped_sample_config_loads() -> None:
    cfg = load_config(ROOT / "sites.toml")
    assert [s.name for s in cfg.sites] == ["samples"]


def test_strip_params_are_read_lowercased(tmp_path: Path) -> None:
    path = tmp_path / "sites.toml"
    path.write_text(
        '[sites.a]\nstart_urls = ["https://a.example.gov.cn/"]\n'
        'strip_params = ["SessionID", "t"]\n',
        encoding="utf-8",
    )
    assert load_config(path).sites[0].strip_params == ("sessionid", "t")


def test_frontier_table_names_a_postgresql_url(tmp_path: Path) -> None:
    path = tmp_path / "sites.toml"
    site = '[sites.a]\nstart_urls = ["https://a.example.gov.cn/"]\n'
    path.write_text('[frontier]\nurl = "postgresql://db.example/archiver"\n' + site, "utf-8")
    assert load_config(path).frontier == "postgresql://db.example/archiver"
    path.write_text(site, "utf-8")
    assert load_config(path).frontier is None
    path.write_text('[frontier]\nurl = "mysql://db/x"\n' + site, "utf-8")
    with pytest.raises(ConfigError, match=r"frontier\.url"):
        load_config(path)


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("0", 0.0),
        (0.5, 0.5),
        (2, 2.0),
        ('"45"', 45.0),
        ('"0.5s"', 0.5),
        ('"30m"', 1800.0),
        ('"12h"', 43200.0),
        ('" 7 D "', 604800.0),
        ('"2w"', 1209600.0),
        ('"1.5h"', 5400.0),
        ('"3650d"', 3650 * 86400.0),
    ],
)
def test_durations_are_seconds_or_a_number_with_a_unit(
    tmp_path: Path, written: object, seconds: float
) -> None:
    """The units the README documents: s, m, h, d, w; a bare number is seconds."""
    text = f'[sites.a]\nstart_urls = ["https://a.example.gov.cn/"]\nrevisit_after = {written}\n'
    assert load_config(write(tmp_path, text)).sites[0].revisit_after == seconds


@pytest.mark.parametrize(
    "written", ['"500ms"', '"5 minutes"', '"h"', '"-1s"', "-1", '"3651d"', "true", '""']
)
def test_a_duration_in_no_documented_form_names_its_key(tmp_path: Path, written: str) -> None:
    text = f'[sites.a]\nstart_urls = ["https://a.example.gov.cn/"]\ndelay = {written}\n'
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert (info.value.site, info.value.key) == ("a", "delay")
    assert "'30m', '12h', '7d'" in str(info.value) and "at most 3650d" in str(info.value)
