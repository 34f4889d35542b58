"""What the scheduler mode adds around the work items, as the issue asks of a Durable Task
Scheduler emulator: it skips time, and its dashboard and management API show the instances
that standalone durabletask workers ran."""

import json
import urllib.request
from datetime import timedelta

from durabletask import client, task

from .conftest import RunningScheduler, started_worker


def plus_one(_: task.ActivityContext, value: int) -> int:
    return value + 1


def sleeps_six_hours(ctx: task.OrchestrationContext, start: int):
    yield ctx.create_timer(ctx.current_utc_datetime + timedelta(hours=6))
    return (yield ctx.call_activity(plus_one, input=start))


def _run_one(scheduler: RunningScheduler,
             wait_seconds: int) -> tuple[str, client.OrchestrationState]:
    with started_worker(scheduler.address, orchestrators=(sleeps_six_hours,),
                        activities=(plus_one,)):
        c = client.TaskHubGrpcClient(host_address=scheduler.address)
        instance = c.schedule_new_orchestration(sleeps_six_hours, input=41)
        return instance, c.wait_for_orchestration_completion(instance, timeout=wait_seconds)


def test_time_skipping_runs_a_six_hour_timer_at_once():
    scheduler = RunningScheduler(time_skipping=True)
    try:
        _, state = _run_one(scheduler, wait_seconds=30)
        assert state.runtime_status == client.OrchestrationStatus.COMPLETED
        assert state.serialized_output == "42"
    finally:
        scheduler.stop()


def test_without_time_skipping_the_timer_keeps_the_instance_running(scheduler):
    with started_worker(scheduler.address, orchestrators=(sleeps_six_hours,),
                        activities=(plus_one,)):
        c = client.TaskHubGrpcClient(host_address=scheduler.address)
        instance = c.schedule_new_orchestration(sleeps_six_hours, input=41)
        state = c.wait_for_orchestration_start(instance, timeout=30)
        assert state.runtime_status == client.OrchestrationStatus.RUNNING


def test_the_dashboard_and_the_management_api_show_the_workers_instances():
    scheduler = RunningScheduler(time_skipping=True)
    try:
        instance, _ = _run_one(scheduler, wait_seconds=30)
        base = f"http://127.0.0.1:{scheduler.server.port}"
        with urllib.request.urlopen(f"{base}/dashboard/", timeout=10) as page:
            assert page.status == 200 and "text/html" in page.headers["Content-Type"]
        url = f"{base}/runtime/webhooks/durabletask/instances/{instance}?showHistory=true"
        with urllib.request.urlopen(url, timeout=10) as answer:
            shown = json.load(answer)
        assert shown["name"] == "sleeps_six_hours" and shown["runtimeStatus"] == "Completed"
        assert shown["output"] == 42
        kinds = [event["EventType"] for event in shown["historyEvents"]]
        assert "TimerFired" in kinds and "TaskCompleted" in kinds
    finally:
        scheduler.stop()
