"""Settings of the dashboard: environment variables `ZQ_*` and the same names as CLI flags."""

from __future__ import annotations

from datetime import timedelta, timezone

from pydantic import AwareDatetime, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from clock import Clock


ROLES = ("web", "ingest", "alerts", "poll", "simulate", "briefing")

# China Standard Time: every local time on the wall and in simulated payloads uses it.
CITY_TZ = timezone(timedelta(hours=8), "CST")


class Settings(BaseSettings):
    """Everything the app reads at start; `python app.py --help` lists these."""

    model_config = SettingsConfigDict(
        env_prefix="ZQ_",
        cli_prog_name="app.py",
        cli_kebab_case=True,
        cli_implicit_flags=True,
        extra="ignore",
    )

    db: str = Field(
        "sqlite:///var/zq.sqlite3",
        description="SQLAlchemy URL of the store: sqlite:///path (WAL) or postgresql+psycopg://…",
    )
    host: str = Field("127.0.0.1", description="Address the web server listens on.")
    port: int = Field(8050, description="Port the web server listens on.")
    city: str = Field("441200", description="City adcode whose packaged boundaries are used.")
    mqtt: str | None = Field(
        None,
        description="MQTT broker as mqtt://host:port; unset means no broker, the simulator feeds in-process.",
    )
    mqtt_prefix: str = Field("zq", description="First level of every MQTT topic: {prefix}/{county}/{feed}/{device}.")
    mqtt_client_id: str = Field(
        "zq-ingest", description="MQTT client id of the ingest subscriber; its broker session is kept under it."
    )
    mqtt_qos: int = Field(1, ge=0, le=1, description="QoS of the ingest subscription (1: at least once, no loss).")
    mqtt_session_expiry_s: int = Field(
        86400, ge=0,
        description="How long the broker keeps the subscriber's session (and queues QoS 1 messages) while it is "
        "away; 0 starts clean each time.",
    )
    mqtt_share_group: str | None = Field(
        None, description="Join MQTT v5 shared subscription $share/<group>/… so several ingest workers split one stream."
    )
    mqtt_max_message_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest MQTT payload the subscriber accepts from the broker (MQTT v5 "
                                          "Maximum Packet Size). Payloads over 256 KiB that arrive are refused to dead "
                                          "letters; the broker's max_packet_size should match "
                                          "(deploy/mosquitto/zq.conf).")
    mqtt_username: str | None = Field(None, description="MQTT user name.")
    mqtt_password: SecretStr | None = Field(None, description="MQTT password.")
    mqtt_tls: bool = Field(False, description="Connect with TLS (also implied by an mqtts:// URL).")
    mqtt_ca_file: str | None = Field(None, description="CA certificate file for the broker's TLS certificate.")
    mqtt_cert_file: str | None = Field(None, description="Client certificate file for TLS client authentication.")
    mqtt_key_file: str | None = Field(None, description="Client key file for TLS client authentication.")
    ingest: bool = Field(True, description="Run the ingest worker (MQTT subscriber when --mqtt is set) in this process.")
    simulate: bool = Field(True, description="Run the built-in simulator of devices, events and KPIs.")
    simulator_seed: int = Field(20211, description="Seed of the simulator's random generator (repeatable demos).")
    simulator_speed: float = Field(
        1.0, description="Simulator messages per device per cadence multiplier (raise for load tests)."
    )
    poll: bool = Field(True, description="Run the HTTP polling coordinator (with ingest) in this process.")
    poll_sources: str | None = Field(
        None, description="JSON file of HTTP polling sources (docs/polling.md); unset uses the simulated APIs."
    )
    sim_http: bool = Field(True, description="With --simulate, serve the simulated HTTP APIs on a free local port.")
    aqi_edition: str = Field("HJ633-2012", description="HJ 633 edition for AQI: HJ633-2012 or HJ633-2026 (unverified).")
    roles: str = Field(
        "web,ingest,alerts,poll,simulate",
        description="What this process runs, comma-separated: web (the pages), ingest (MQTT subscriber and the write "
                    "path), alerts (rules over committed data, notifications), poll (HTTP polling), simulate (the "
                    "built-in simulator), briefing (the daily briefings' PDFs each morning, opt-in: not among the "
                    "defaults). Any role on any machine against one store and broker; alerts, poll and "
                    "simulate lead in one process at a time, the others standing by. --no-ingest, --no-poll and "
                    "--no-simulate remove a role.")
    ingest_log_hours: float = Field(
        24.0, gt=0, description="Hours the ingest log keeps committed batches for the alerts role (it resumes from "
                                "its cursor within them, and rebuilds the rules' memory from them).")
    observation_retention_days: int = Field(
        0, ge=0, description="Days of raw observations kept; older whole days are dropped (PostgreSQL: a day's "
                             "partition each; SQLite: a DELETE), while their hourly and daily roll-ups stay for the "
                             "trends (docs/data-retention.md). 0 keeps everything.")
    max_future_s: int = Field(
        300, ge=0, description="Seconds a message's own time may be ahead of its arrival; a message further ahead is "
                               "refused to dead letters (a fast clock would move latest values, alarms and offline "
                               "status past every honest reading to come).")
    batch_size: int = Field(1000, description="Most messages written in one ingest transaction.")
    batch_ms: int = Field(100, description="Longest wait (ms) before a partial ingest batch is written.")
    tick_seconds: float = Field(5.0, description="Seconds between live updates of the wall.")
    cache: str | None = Field(
        None, description="Where rendered ticks are shared: unset, within this process; redis://host:port/db, by "
                          "every web worker on every server (screens showing one view cost one rendering a tick); "
                          "off, not at all (each screen renders and is answered on its own).")
    stale_after_s: int = Field(
        300, description="Seconds without a message after which a feed counts as stale by default."
    )
    feed_cadences: dict[str, int] = Field(
        default_factory=dict,
        description='Expected seconds between messages per feed, overriding the built-in ones, e.g. {"road_weather": 300}.',
    )
    plugins: str = Field(
        "none", description="Installed plugins this process loads (entry points zq.feeds, zq.layers, zq.panels, "
                            "zq.rules; docs/plugins.md): none, * every one, or distribution names separated by "
                            "commas. None by default: a package installed for one purpose does not add feeds "
                            "(and a stale one) to a wall that did not ask for it.")
    topics_dir: str | None = Field(
        None, description="Directory of theme files (*.yaml), re-read when they change; default: the packaged "
                          "topics/themes.")
    require_sign_in: bool = Field(
        False, description="Every page, data callback and API call needs a signed-in user or a wall token "
                           "(?wall=NAME&token=SECRET); off for the demo.")
    trusted_proxies: int = Field(
        0, ge=0, description="How many reverse proxies stand in front of the web role (nginx: 1): their "
                             "X-Forwarded-For names the client, whose address sign-in throttling counts.")
    sign_in_concurrency: int = Field(
        2, ge=1, description="Password checks (scrypt, 32 MiB each) one web process runs at once; more wait a little, "
                             "then are told to try again (503).")
    https: bool = Field(
        False, description="The web role is reached over HTTPS (a proxy that terminates TLS): session cookies are sent "
                           "only over HTTPS (Secure) and browsers are told to keep to HTTPS (Strict-Transport-Security).")
    frame_ancestors: str = Field(
        "'self'", description="Which pages may show this app in a frame (CSP frame-ancestors), e.g. \"'self' "
                              "https://portal.example\"; 'none' forbids every frame.")
    secret_key: str | None = Field(
        None, description="Key that signs admin sessions; default: a new random key each start (everyone signs "
                          "in again after a restart). Set it when several web workers serve one wall.")
    webhooks: dict[str, str] = Field(
        {}, description="Webhooks as hook name → URL, e.g. {\"市生态环境局\": \"http://10.1.2.3/hook\"}. A rule names "
                        "hooks in its theme file's notify:; a department's name is also a hook name, so that entry "
                        "reaches 市生态环境局. Alarm events are POSTed as JSON, retried, and each delivery is kept.")
    briefing_at: str = Field(
        "07:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="City time (HH:MM) after which the briefing role makes the previous day's briefings (运行日报) of "
                    "the city and each county, if not made yet (a process started later catches up).")
    briefing_webhooks: dict[str, str] = Field(
        {}, description="Webhooks told of each briefing as hook name → URL, e.g. {\"市政数局\": \"http://10.1.2.3/hook\"}: "
                        "a JSON POST with the briefing's facts and its PDF's link, retried, each delivery kept "
                        "(docs/briefing.md).")
    public_url: str | None = Field(
        None, description="The address the web role is reached at (e.g. https://zq.example.gov.cn), for the links in "
                          "briefing webhooks; unset: the links are paths (/briefings/1.pdf).")
    chromium: str = Field(
        "chromium", description="Headless Chromium that prints the briefings to PDF: a path, or a name looked up on "
                                "PATH (Debian package chromium).")
    briefing_timeout_s: float = Field(90.0, gt=0, description="Longest a briefing's printing may take.")
    alarm_sound: bool = Field(False, description="Walls sound the alarm tone while a red alarm holds them (also per "
                                                 "screen with ?sound=1; the browser must allow autoplay).")
    lang: str = Field("zh", description="Default UI language: zh or en.")
    clock_start: AwareDatetime | None = Field(
        None, description="Start this process's clock at this moment (ISO 8601 with an offset, e.g. "
                          "2026-07-15T14:00+08:00) and let it run at real speed: the app, the simulator, the rules, "
                          "the calendar and the case deadlines all read it. Unset: the machine's time.")
    clock_anchor: float | None = Field(
        None, description="Unix time at which the clock read --clock-start (default: when the process started); "
                          "processes given the same start and anchor share one timeline.")
    debug: bool = Field(False, description="Dash debug mode (dev tools, reloader off).")

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, v: str) -> str:
        names = [r.strip() for r in v.split(",") if r.strip()]
        unknown = [r for r in names if r not in ROLES]
        if unknown or not names:
            raise ValueError(f"roles are a comma-separated choice of {', '.join(ROLES)}; got {v!r}")
        return ",".join(dict.fromkeys(names))

    def active_roles(self) -> frozenset[str]:
        """The roles this process runs: --roles, less those switched off by --no-ingest, --no-poll, --no-simulate."""
        off = {r for r, on in (("ingest", self.ingest), ("poll", self.poll), ("simulate", self.simulate)) if not on}
        return frozenset(self.roles.split(",")) - off


def clock_of(settings: Settings) -> Clock:
    """The clock these settings ask for: the machine's time, or one started at --clock-start."""
    return Clock(settings.clock_start, settings.clock_anchor)


def settings_table() -> str:
    """The settings as a Markdown table, for docs/settings.md (`make docs` rewrites it)."""
    rows = ["| flag | environment variable | default | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        value = field.get_default(call_default_factory=True)
        default = "" if value is None else f"`{value}`"
        rows.append(f"| `--{name.replace('_', '-')}` | `ZQ_{name.upper()}` | {default} | {field.description} |")
    return "\n".join(rows) + "\n"
