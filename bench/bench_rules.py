"""What matching costs per event, and what share of a server's CPU that is.

Run: `python bench/bench_rules.py [--events N] [--runs R] [--server-seconds S | --no-server]`.

1. The Python walk: `RuleSet.matching` in µs per event (the median of R passes over N distinct ~1 KB
   contact-center events shaped like `Event.document()`), at 10, 1,000 and 10,000 subscriptions of
   mixed patterns (exact values, prefixes, numeric ranges, `exists`, anything-but, a few wildcards,
   CIDR blocks and `$or`, over five event types), and the share of one core that matching takes at
   4,000 events/s (the cost times 4,000). The sizes take turns within each pass, so whatever else the
   machine does weighs on every size alike. Everything is generated from fixed seeds.
2. Reading the event: `extract.flatten` alone (the plain walk of the automaton's key trie that fills
   the values matching looks up), in µs per event of the same passes: the most that any faster way of
   reading an event could save.
3. The server: `python -m ccbridge serve` as a child process (SQLite store), with 10 subscriptions of
   mixed patterns on the event's type that the event does not satisfy (so every event is matched
   against all of them and causes no delivery), ingesting CXone events over
   `POST /api/v2/eventbridge/events` from bench/loadgen.py at 4,000 requests/s (open loop; the rate
   it reached is printed). Its CPU seconds (all threads, from /proc) over the 2xx answers are the
   server's CPU per event; matching's share is what routing the same event to the same
   subscriptions costs in this process (`SubscriptionRouter.route`: the document, the RuleSet pass)
   over that.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from loadgen import Result, request_template, run_python
from support import EVENTS_PATH, SUBS_PATH, CpuMeter, cpu_seconds, cxone_body, start_ccbridge, stop, token

from ccbridge.core.event import EndpointSpec, Event, Subscription
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.core.rules.extract import MISSING, flatten
from ccbridge.rules import RuleSet

SIZES = (10, 1_000, 10_000)
RATE = 4_000
"""Events per second the server's share is figured at."""

DISTURBED = 25.0
"""CPU (% of one core) other processes may use during a server run before it is marked disturbed."""

EVENT_TYPES = ["contact.created", "contact.updated", "interaction.completed", "queue.event", "agent.state"]
CHANNELS = ["voice", "chat", "email", "sms", "social", "video"]
REGIONS = ["eu", "us", "apac", "latam"]
SKILLS = [f"{kind}-{n}" for kind in ("sales", "support", "billing", "retention", "tech") for n in range(100)]
WRAPUPS = ["Sale", "Upsell", "No Answer", "Callback", "Complaint", "Resolved", "Escalated", "Voicemail"]
TIERS = ["gold", "silver", "bronze", "platinum"]
COUNTRY_CODES = ["1", "44", "49", "33", "55", "91"]
TAGS = ["vip", "new", "churn-risk", "b2b", "b2c", "promo", "loyal", "fraud-check"]


def make_event(rng: random.Random, i: int) -> dict[str, Any]:
    region = rng.choice(REGIONS)
    agent = rng.randrange(5000)
    return {
        "id": f"0b7c1f2e-{i:08d}-4b1e-9a51-6f0d2c3e4a5b",
        "event": rng.choice(EVENT_TYPES),
        "source": "cxone",
        "time": f"2024-05-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:15:42.123Z",
        "data": {
            "contact": {
                "id": f"c-{rng.randrange(10**7):07d}",
                "channelType": rng.choice(CHANNELS),
                "direction": rng.choice(["inbound", "outbound"]),
                "skill": rng.choice(SKILLS),
                "queue": f"q-{region}-{rng.randrange(500):03d}",
                "agent": {"id": f"agent-{agent:04d}", "name": f"Agent {agent}", "team": f"team-{agent % 90}"},
                "ani": f"+{rng.choice(COUNTRY_CODES)}{rng.randrange(100, 200)}{rng.randrange(10**6):06d}",
                "dnis": f"+1800{rng.randrange(10**6):06d}",
                "campaign": {"id": f"camp-{rng.randrange(300)}", "name": "Spring renewal outreach"},
            },
            "interaction": {
                "id": f"i-{rng.randrange(10**9):09d}",
                "startTime": "2024-05-02T10:11:12.000Z",
                "endTime": "2024-05-02T10:19:40.000Z",
                "mediaType": rng.choice(CHANNELS),
            },
            "duration": rng.choice([rng.randrange(3600), round(rng.uniform(0, 3600), 3)]),
            "holdTime": rng.randrange(600),
            "wrapupcode": {"name": rng.choice(WRAPUPS), "code": rng.randrange(100)},
            "customer": {
                "ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
                "tier": rng.choice(TIERS),
                "tags": rng.sample(TAGS, 3),
                "email": f"user{rng.randrange(10**6)}@example-{rng.randrange(50)}.com",
                "country": rng.choice(["DE", "FR", "US", "BR", "IN", "JP"]),
            },
            "sentiment": round(rng.uniform(-1, 1), 3),
            "language": rng.choice(["en-US", "de-DE", "fr-FR", "es-ES"]),
            "notes": "customer asked about the renewal offer and the new bundle pricing",
        },
        "metadata": {"correlationId": f"corr-{i:08d}", "tenant": f"tenant-{rng.randrange(20)}"},
    }


def _exact(rng: random.Random) -> dict[str, Any]:
    choice = rng.randrange(3)
    if choice == 0:
        data: dict[str, Any] = {"contact": {"skill": [rng.choice(SKILLS)]}}
    elif choice == 1:
        data = {"contact": {"queue": [f"q-{rng.choice(REGIONS)}-{rng.randrange(500):03d}"]}}
    else:
        data = {"contact": {"agent": {"id": [f"agent-{rng.randrange(5000):04d}"]}}}
    if rng.random() < 0.5:
        data["contact"]["channelType"] = rng.sample(CHANNELS, 2)
    return {"event": [rng.choice(EVENT_TYPES)], "data": data}


def _prefix(rng: random.Random) -> dict[str, Any]:
    choice = rng.randrange(3)
    field: dict[str, Any]
    if choice == 0:
        field = {"contact": {"queue": [{"prefix": f"q-{rng.choice(REGIONS)}-{rng.randrange(50):02d}"}]}}
    elif choice == 1:
        field = {"contact": {"ani": [{"prefix": f"+{rng.choice(COUNTRY_CODES)}{rng.randrange(100, 200)}"}]}}
    else:
        field = {"contact": {"agent": {"id": [{"prefix": f"agent-{rng.randrange(500):03d}"}]}}}
    return {"event": [{"prefix": rng.choice(EVENT_TYPES).split(".")[0]}], "data": field}


def _numeric(rng: random.Random) -> dict[str, Any]:
    low = rng.randrange(3000)
    return {
        "event": [rng.choice(EVENT_TYPES)],
        "data": {
            "contact": {"skill": [rng.choice(SKILLS)]},
            "duration": [{"numeric": [">", low, "<=", low + rng.randrange(60, 600)]}],
        },
    }


def _anything_but(rng: random.Random) -> dict[str, Any]:
    return {
        "event": [rng.choice(EVENT_TYPES)],
        "data": {
            "contact": {"queue": [f"q-{rng.choice(REGIONS)}-{rng.randrange(500):03d}"]},
            "wrapupcode": {"name": [{"anything-but": rng.sample(WRAPUPS, 2)}]},
        },
    }


def _exists(rng: random.Random) -> dict[str, Any]:
    return {
        "event": [rng.choice(EVENT_TYPES)],
        "data": {"contact": {"skill": [rng.choice(SKILLS)]}, "escalation": [{"exists": False}]},
    }


def _wildcard(rng: random.Random) -> dict[str, Any]:
    return {
        "event": [rng.choice(EVENT_TYPES)],
        "data": {
            "customer": {"email": [{"wildcard": f"user{rng.randrange(10)}*@example-{rng.randrange(50)}.com"}]}
        },
    }


def _cidr(rng: random.Random) -> dict[str, Any]:
    return {
        "data": {
            "customer": {"ip": [{"cidr": f"10.{rng.randrange(256)}.{rng.randrange(256)}.0/24"}]},
            "contact": {"channelType": [rng.choice(CHANNELS)]},
        }
    }


def _or(rng: random.Random) -> dict[str, Any]:
    return {
        "event": [rng.choice(EVENT_TYPES)],
        "$or": [
            {
                "data": {
                    "wrapupcode": {"name": [rng.choice(WRAPUPS)]},
                    "contact": {"skill": [rng.choice(SKILLS)]},
                }
            },
            {
                "data": {
                    "customer": {"tier": [rng.choice(TIERS)]},
                    "contact": {"agent": {"id": ["agent-0001"]}},
                }
            },
        ],
    }


Maker = Callable[[random.Random], dict[str, Any]]
MIX: list[tuple[float, Maker]] = [
    (0.45, _exact),
    (0.25, _prefix),
    (0.08, _numeric),
    (0.06, _anything_but),
    (0.05, _exists),
    (0.05, _wildcard),
    (0.03, _cidr),
    (0.03, _or),
]


def make_rules(rng: random.Random, count: int) -> dict[str, dict[str, Any]]:
    weights = [w for w, _ in MIX]
    makers = [m for _, m in MIX]
    return {f"sub-{i:05d}": rng.choices(makers, weights)[0](rng) for i in range(count)}


def pass_cost(match: Callable[[dict[str, Any]], object], events: list[dict[str, Any]]) -> float:
    """µs per event of one pass of `match` over `events`."""
    start = time.perf_counter()
    for event in events:
        match(event)
    return (time.perf_counter() - start) / len(events) * 1e6


def reader(ruleset: RuleSet) -> Callable[[dict[str, Any]], object]:
    """What matching does first: read the event at the automaton's paths."""
    keys, width = ruleset._machine._keys, ruleset._machine.path_count  # (the bench reads, not changes)
    return lambda event: flatten(keys, event, [MISSING] * width)


@dataclass
class Walk:
    """One ruleset size: build seconds, matches per event, and µs per event of each pass (matching,
    and reading the event alone)."""

    build: float
    matches: float
    matching: list[float]
    reading: list[float]


def measure_walk(events: list[dict[str, Any]], runs: int) -> dict[int, Walk]:
    """Each pass gives every size a turn: an unmeasured fifth of the events (so the automaton is in
    the steady state a server's is in, not just pushed out of the caches by the previous size), then
    the events, then reading them alone."""
    rulesets: dict[int, RuleSet] = {}
    walks: dict[int, Walk] = {}
    for count in SIZES:
        rules = make_rules(random.Random(count), count)
        start = time.perf_counter()
        ruleset = rulesets[count] = RuleSet(rules)
        build = time.perf_counter() - start
        matches = sum(len(ruleset.matching(event)) for event in events) / len(events)
        walks[count] = Walk(build, matches, [], [])
    for _ in range(runs):
        for count, ruleset in rulesets.items():
            pass_cost(ruleset.matching, events[: len(events) // 5])
            walks[count].matching.append(pass_cost(ruleset.matching, events))
            walks[count].reading.append(pass_cost(reader(ruleset), events))
    return walks


# --- the server -----------------------------------------------------------------------------------

SERVER_PATTERNS: list[dict[str, Any]] = [
    {"data": {"queue": [{"prefix": "q-us-"}]}},
    {"data": {"priority": [{"numeric": [">", 5]}], "channelType": ["voice"]}},
    {"data": {"channelType": [{"anything-but": ["voice", "chat"]}]}},
    {"data": {"escalation": [{"exists": True}]}},
    {"data": {"skill": {"name": [{"prefix": "support-"}]}}},
    {"data": {"ani": [{"prefix": "+1"}], "direction": ["inbound"]}},
    {"data": {"agent": {"id": ["agent-0001", "agent-0002"]}}},
    {"data": {"language": [{"anything-but": {"prefix": "en"}}]}},
    {"data": {"priority": [{"numeric": [">=", 0, "<", 2]}], "queue": [{"prefix": "q-eu-"}]}},
    {"data": {"campaign": {"id": ["camp-99"]}, "escalation": [{"exists": False}]}},
]
"""The server's subscriptions (all on `contact.created`, the bench event's type): mixed operators,
some conditions the event meets, none it meets all of."""

SERVER_TYPE = "contact.created"


def route_cost(runs: int) -> float:
    """Median µs per event of routing the server's event to its subscriptions, in this process."""
    attributes = orjson.loads(cxone_body(SERVER_TYPE))["attributes"]
    event = Event(
        id="0b7c1f2e-0000-4b1e-9a51-6f0d2c3e4a5b",
        type=SERVER_TYPE,
        source="cxone",
        time="2026-11-24T10:15:42.123Z",
        data=attributes,
        dialect="cxone",
        correlation_id="corr-1",
        received_at="2026-11-24T10:15:42.200Z",
    )
    router = SubscriptionRouter(builder=None)
    router.replace(
        [
            Subscription(
                id=f"sub-{i}",
                name=f"bench-{i}",
                dialect="cxone",
                event_types=(SERVER_TYPE,),
                endpoints=(EndpointSpec(f"https://example.com/hooks/{i}"),),
                secret="whsec_bench",
                created_at="t",
                updated_at="t",
                pattern=pattern,
            )
            for i, pattern in enumerate(SERVER_PATTERNS)
        ]
    )
    assert router.route(event) == [], "the server's event must satisfy none of its subscriptions"
    events = [event] * 20_000
    return statistics.median(pass_cost(router.route, events) for _ in range(runs))


@dataclass
class ServerRun:
    result: Result
    cpu_per_event: float  # server CPU seconds per 2xx answer
    cpu: dict[str, float]  # % of one core: server, loadgen, other


def measure_server(seconds: float, runs: int, connections: int) -> list[ServerRun]:
    body = cxone_body(SERVER_TYPE)
    out: list[ServerRun] = []
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as tmp:
        srv = start_ccbridge(Path(tmp))
        assert srv.process is not None
        try:
            bearer = token(srv)
            for i, pattern in enumerate(SERVER_PATTERNS):
                response = httpx.post(
                    srv.base_url + SUBS_PATH,
                    json={
                        "name": f"bench-{i}",
                        "eventType": SERVER_TYPE,
                        "endpoints": [{"url": f"https://example.com/hooks/{i}"}],
                        "pattern": pattern,
                    },
                    headers={"Authorization": f"Bearer {bearer}"},
                )
                response.raise_for_status()
            host_port = srv.base_url.removeprefix("http://")
            host, port = host_port.split(":")
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {bearer}"}
            template = request_template("POST", EVENTS_PATH, host_port, headers, body)
            pid = srv.process.pid
            for _ in range(runs):
                meter, before = CpuMeter(server=pid), cpu_seconds(pid)
                result = run_python(host, int(port), template, connections, seconds, 1.0, rate=RATE)
                used = cpu_seconds(pid) - before
                out.append(ServerRun(result, used / max(1, result.ok), meter.stop()))
        finally:
            stop(srv.process)
    return out


# --- output ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--server-seconds", type=float, default=8.0, help="seconds measured per server run")
    parser.add_argument("--server-runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64, help="the load generator's connections")
    parser.add_argument("--no-server", action="store_true", help="only the in-process figures")
    args = parser.parse_args()
    rng = random.Random(20240501)
    events = [make_event(rng, i) for i in range(args.events)]
    size = statistics.mean(len(json.dumps(e)) for e in events)
    print(f"{args.events} distinct events, mean {size:.0f} bytes of JSON; mixed patterns; one core")
    walks = measure_walk(events, args.runs)
    print(f"\nmedians over {args.runs} passes: the Python walk (RuleSet.matching), µs per event")
    print(
        f"{'subs':>7}{'build s':>9}{'µs/event':>10}{'min-max':>15}{'reading µs':>12}{'matches/event':>15}"
        f"{'core at 4,000/s':>17}"
    )
    cost = {count: statistics.median(walk.matching) for count, walk in walks.items()}
    reading = {count: statistics.median(walk.reading) for count, walk in walks.items()}
    for count, walk in walks.items():
        spread = f"{min(walk.matching):.2f}-{max(walk.matching):.2f}"
        print(
            f"{count:>7}{walk.build:>9.2f}{cost[count]:>10.2f}{spread:>15}{reading[count]:>12.2f}"
            f"{walk.matches:>15.2f}{cost[count] * RATE / 1e4:>16.2f}%"
        )
    print()
    if args.no_server:
        return
    routing = route_cost(args.runs)
    runs = measure_server(args.server_seconds, args.server_runs, args.connections)
    print(
        f"the server: {len(SERVER_PATTERNS)} subscriptions, CXone events of {len(cxone_body())} B at "
        f"{RATE:,}/s offered (python loadgen, c={args.connections}), {args.server_seconds:g} s per run"
    )
    for i, run in enumerate(runs, 1):
        r = run.result
        bad = f"  non-2xx {r.not_ok} errors {r.errors}" if r.not_ok or r.errors else ""
        if run.cpu["other"] > DISTURBED:
            bad += "  (disturbed: other processes were busy)"
        print(
            f"run {i}: {r.rate:,.0f} ev/s reached (late sends {r.late}), p50 {r.p50_ms:.2f} ms, "
            f"server {run.cpu_per_event * 1e6:.0f} µs CPU/event; cpu: server {run.cpu['server']:.0f}% "
            f"loadgen {run.cpu['loadgen']:.0f}% other {run.cpu['other']:.0f}%{bad}"
        )
    per_event = statistics.median(run.cpu_per_event for run in runs) * 1e6
    rate = statistics.median(run.result.rate for run in runs)
    print(f"\nmedians over {len(runs)} server runs")
    print(f"server CPU per event at {rate:,.0f} ev/s reached: {per_event:.0f} µs")
    print(
        f"matching's share: routing the event to the {len(SERVER_PATTERNS)} subscriptions costs "
        f"{routing:.2f} µs in-process = {100 * routing / per_event:.1f}% of the server's CPU per event"
    )

    def share(us: float) -> str:
        return f"{us:.2f} µs = {100 * us / per_event:.1f}%"

    print(
        f"  the mixed walk above, as a share of that: 10 subs {share(cost[10])}, "
        f"10,000 subs {share(cost[10_000])}; reading the event alone: {share(reading[10])} to "
        f"{share(max(reading.values()))}"
    )


if __name__ == "__main__":
    main()
