import pytest

from dashboard.observe.cost import (
    MINUTES_PER_MONTH,
    Assumptions,
    Rate,
    always_on,
    always_on_worker,
    bill,
    cron_drain,
    modes,
    on_demand,
    queue_events,
    recommendation,
    seed_tables,
)


def test_seed_tables_reproduced_from_the_seeds_assumptions() -> None:
    tables = seed_tables()
    assert tables["alwaysOn"] == 1_296_000  # seed 001: "~1,300,000"
    assert tables["cron"] == {5: 172_800, 15: 57_600, 30: 28_800}  # ~173K, ~58K, ~29K


def test_idle_node_worker_matches_the_measured_anchor() -> None:
    rate = always_on_worker(Assumptions())
    assert rate.client == 26  # 12 BZPOPMIN + 12 moveToActive + 2 stalled checks
    five = always_on(Assumptions())
    assert five.executed == pytest.approx(551, rel=0.05)  # DESIGN.md: 5 idle workers, 551/min


def test_delayed_jobs_stretch_the_blocking_wait_to_ten_seconds() -> None:
    plain = always_on_worker(Assumptions())
    delayed = always_on_worker(Assumptions(delayed_jobs=True))
    assert delayed.client == 6 * 2 + 2 and delayed.executed < plain.executed


def test_tuned_settings_cost_less() -> None:
    tuned = Assumptions(drain_delay_s=30, stalled_interval_ms=300_000)
    assert always_on_worker(tuned).client == pytest.approx(2 * 2 + 0.2)


def test_queue_events_and_workers_per_queue_scale() -> None:
    assert queue_events(3) == Rate(18, 18)
    one = always_on(Assumptions(queues=1))
    assert always_on(Assumptions(queues=1, workers_per_queue=3)).client == 3 * one.client


def test_python_port_is_its_measured_idle_rate() -> None:
    python = always_on_worker(Assumptions(worker="python"))
    assert python == Rate(12.5, 26)
    assert always_on_worker(Assumptions(worker="python", drain_delay_s=1)) == python


def test_cron_drain_per_tick() -> None:
    a = Assumptions(cron_interval_min=5)
    assert cron_drain(a).per_month() == Rate(17_280, 17_280)  # 2 commands x 8,640 ticks
    assert cron_drain(a, "seed").per_month().client == 172_800
    assert cron_drain(a, "getjobcounts").per_month() == Rate(43_200, 475_200)


def test_cron_drain_with_scheduled_jobs_counts_ticks_and_runs() -> None:
    waiting = Assumptions(cron_interval_min=5, delayed_jobs=True)
    assert cron_drain(waiting).per_month() == Rate(34_560, 34_560)  # 4 commands x 8,640 ticks
    seed_004 = Assumptions(cron_interval_min=5, scheduled_runs_per_day=1)
    with_runs, without = cron_drain(seed_004).per_month(), cron_drain(waiting).per_month()
    assert with_runs.client - without.client == pytest.approx(30 * 20)  # a run a day, 30 days
    assert with_runs.executed - without.executed == pytest.approx(30 * 77)
    assert cron_drain(seed_004, "getjobcounts").per_month().executed == 475_200 + 30 * 77


def test_on_demand_counts_scheduled_runs() -> None:
    a = Assumptions(on_demand_startups_per_day=24, scheduled_runs_per_day=2)
    assert on_demand(a).per_month().executed == pytest.approx(24 * 30 * 4 + 2 * 30 * 77)


def test_on_demand_idle_is_startup_checks_only() -> None:
    assert on_demand(Assumptions()) == Rate(0, 0)
    assert on_demand(Assumptions(on_demand_startups_per_day=24)).per_month().executed == 1_440


def test_bill_and_quota() -> None:
    a = Assumptions(quota=500_000, price_per_100k=0.2)
    assert bill(1_000_000, a) == {"quotaShare": 2.0, "dollars": 2.0}


def test_recommendation_follows_seed_001() -> None:
    cron = "`drainboard worker --mode cron` and `drainboard drain` every 5 min"
    assert recommendation(Assumptions())["pick"] == cron
    roomy = Assumptions(quota=10**9)
    assert recommendation(roomy)["pick"] == "`drainboard worker --mode always`"
    assert recommendation(roomy, measured_per_month=2 * 10**9)["pick"] == cron


def test_every_mode_has_both_counts() -> None:
    for mode in modes(Assumptions()):
        month = mode.month()
        assert month.executed >= month.client >= 0
        assert month == mode.per_minute * MINUTES_PER_MONTH
