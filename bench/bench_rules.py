"""Throughput of `RuleSet.matching` on contact-center events, for 10, 1,000 and 10,000 subscriptions.

Run: `python bench/bench_rules.py [--events N] [--runs R]`. Prints events/s (median of R rounds in
which the sizes take turns; one core) per ruleset size for two mixes, "exact+prefix" and "mixed"
(every operator), the ratio of the 10-rule to the 10,000-rule figure, the build time and the mean
matches per event (matching cost grows with the answer: each matching subscription is a few more
lookups). "cold" cycles through
N distinct events, so each is out of CPU cache (the conservative figure); "hot" cycles through 100,
like a server matching each event right after parsing it; "parsed" times what a server does per
event, `orjson.loads` of the event's JSON and then matching (the parse is the same at every size, so
this ratio is the smallest). Events are ~1 KB JSON documents shaped like
`Event.document()`; everything is generated from a fixed seed so runs are comparable. The
"unmatched" mix is exact+prefix with data values no event has: no answers at any size, so its
ratio is the cost of the number of subscriptions alone (the others also grow with the answer, a
few more lookups per matching subscription).

Last, "router": `SubscriptionRouter.route`, what the server does per event inside its write
transaction (the document, the match, the targets in subscription order), over the cold events,
for subscriptions made of the exact+prefix rules: the rule's event types (the one it names, or those
its prefix starts) and the rest of the rule as the pattern.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson

from ccbridge.core.event import EndpointSpec, Event, Subscription
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.rules import RuleSet

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


def _elsewhere(leaf: Any) -> Any:
    """A data leaf no bench event satisfies: every string (and prefix) moved to a "zz-" namespace."""
    if isinstance(leaf, dict):
        return {key: _elsewhere(value) for key, value in leaf.items()}
    if isinstance(leaf, list):
        return [_elsewhere(value) for value in leaf]
    return f"zz-{leaf}" if isinstance(leaf, str) else leaf


def _exact_unmatched(rng: random.Random) -> dict[str, Any]:
    rule = _exact(rng)
    return {**rule, "data": _elsewhere(rule["data"])}


def _prefix_unmatched(rng: random.Random) -> dict[str, Any]:
    rule = _prefix(rng)
    return {**rule, "data": _elsewhere(rule["data"])}


HOT_POOL = 100
"""Distinct events in the "hot" measurement: few enough to stay in CPU cache, as a just-parsed event is."""

Maker = Callable[[random.Random], dict[str, Any]]
MIXES: dict[str, list[tuple[float, Maker]]] = {
    "exact+prefix": [(0.6, _exact), (0.4, _prefix)],
    "mixed": [
        (0.45, _exact),
        (0.25, _prefix),
        (0.08, _numeric),
        (0.06, _anything_but),
        (0.05, _exists),
        (0.05, _wildcard),
        (0.03, _cidr),
        (0.03, _or),
    ],
    # The exact+prefix rules with values no event has (their event types do match): the cost of
    # the number of subscriptions alone, as the answer is empty at every size.
    "unmatched": [(0.6, _exact_unmatched), (0.4, _prefix_unmatched)],
}


def make_rules(rng: random.Random, mix: list[tuple[float, Maker]], count: int) -> dict[str, dict[str, Any]]:
    weights = [w for w, _ in mix]
    makers = [m for _, m in mix]
    return {f"sub-{i:05d}": rng.choices(makers, weights)[0](rng) for i in range(count)}


def one_pass(ruleset: RuleSet, events: list[dict[str, Any]]) -> tuple[float, int]:
    """Events/s of one pass over `events`, and the number of matches it found."""
    matching = ruleset.matching
    matched = 0
    start = time.perf_counter()
    for event in events:
        matched += len(matching(event))
    return len(events) / (time.perf_counter() - start), matched


def parsed_pass(ruleset: RuleSet, bodies: list[bytes]) -> float:
    """Events/s of parsing each body and matching the event."""
    matching, loads = ruleset.matching, orjson.loads
    start = time.perf_counter()
    for body in bodies:
        matching(loads(body))
    return len(bodies) / (time.perf_counter() - start)


def measure(
    rulesets: dict[int, RuleSet], events: list[dict[str, Any]], hot: list[dict[str, Any]], runs: int
) -> dict[int, tuple[float, float, float, float]]:
    """Per ruleset size: median cold, hot and parsed events/s over `runs` rounds, and matches per event.

    The sizes take turns within each round, so that whatever else the machine is doing (these are
    shared VMs: another tenant filling the L3 cache moves the cold figures by tens of percent
    between one minute and the next) weighs on every size alike and the ratio between them holds.
    Each turn starts with an unmeasured pass over a fifth of the events: a server matches every
    event with the same automaton, so it is measured in that steady state, not while the previous
    size's passes have just pushed it out of the CPU caches (which costs the largest most)."""
    cold: dict[int, list[float]] = {count: [] for count in rulesets}
    warm: dict[int, list[float]] = {count: [] for count in rulesets}
    parsed: dict[int, list[float]] = {count: [] for count in rulesets}
    bodies = [orjson.dumps(event) for event in events]
    matches: dict[int, float] = {}
    for ruleset in rulesets.values():
        one_pass(ruleset, events)  # generated extractors, string hashes
    for _ in range(runs):
        for count, ruleset in rulesets.items():
            one_pass(ruleset, events[: len(events) // 5])
            rate, matched = one_pass(ruleset, events)
            cold[count].append(rate)
            matches[count] = matched / len(events)
            warm[count].append(one_pass(ruleset, hot)[0])
            parsed[count].append(parsed_pass(ruleset, bodies))
    return {
        c: (statistics.median(cold[c]), statistics.median(warm[c]), statistics.median(parsed[c]), matches[c])
        for c in rulesets
    }


def _subscription(sub_id: str, rule: dict[str, Any]) -> Subscription:
    (allowed,) = rule["event"]
    types = (
        [allowed] if isinstance(allowed, str) else [t for t in EVENT_TYPES if t.startswith(allowed["prefix"])]
    )
    return Subscription(
        id=sub_id,
        name=sub_id,
        dialect="cxone",
        event_types=tuple(types),
        endpoints=(EndpointSpec(f"https://example.com/{sub_id}"),),
        secret="whsec_bench",
        created_at="t",
        updated_at="t",
        pattern={key: value for key, value in rule.items() if key != "event"},
    )


def route_rates(events: list[dict[str, Any]], runs: int) -> dict[int, tuple[float, float]]:
    """Per subscription count: median routes/s over cold events, and targets per event."""
    as_events = [
        Event(
            id=doc["id"],
            type=doc["event"],
            source=doc["source"],
            time=doc["time"],
            data=doc["data"],
            dialect="cxone",
            correlation_id=doc["metadata"]["correlationId"],
            received_at=doc["time"],
        )
        for doc in events
    ]
    routers: dict[int, SubscriptionRouter] = {}
    for count in (10, 1_000, 10_000):
        router = routers[count] = SubscriptionRouter()
        rules = make_rules(random.Random(count), MIXES["exact+prefix"], count)
        router.replace([_subscription(sub_id, rule) for sub_id, rule in rules.items()])
    rates: dict[int, list[float]] = {count: [] for count in routers}
    targets: dict[int, float] = {}
    for _ in range(runs):
        for count, router in routers.items():
            route = router.route
            start = time.perf_counter()
            routed = sum(len(route(event)) for event in as_events)
            rates[count].append(len(as_events) / (time.perf_counter() - start))
            targets[count] = routed / len(as_events)
    return {count: (statistics.median(rates[count]), targets[count]) for count in routers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(20240501)
    events = [make_event(rng, i) for i in range(args.events)]
    hot = events[:HOT_POOL] * (len(events) // HOT_POOL)
    size = statistics.mean(len(json.dumps(e)) for e in events)
    print(f"{args.events} events, mean {size:.0f} bytes of JSON; median of {args.runs} rounds, one core")
    print(f"cold: {args.events} distinct events per pass; hot: {HOT_POOL} events cycled (as if just parsed)")
    print("parsed: orjson.loads of each event's JSON, then matching (a server's work per event)")
    print(
        f"{'mix':<14}{'rules':>7}{'build s':>9}{'cold ev/s':>11}{'hot ev/s':>11}{'parsed ev/s':>13}"
        f"{'matches/event':>15}"
    )
    for mix_name, mix in MIXES.items():
        rulesets: dict[int, RuleSet] = {}
        builds: dict[int, float] = {}
        for count in (10, 1_000, 10_000):
            rules = make_rules(random.Random(count), mix, count)
            start = time.perf_counter()
            rulesets[count] = RuleSet(rules)
            builds[count] = time.perf_counter() - start
        rates = measure(rulesets, events, hot, args.runs)
        for count, (cold, warm, parsed, per_event) in rates.items():
            print(
                f"{mix_name:<14}{count:>7}{builds[count]:>9.2f}{cold:>11,.0f}{warm:>11,.0f}{parsed:>13,.0f}"
                f"{per_event:>15.2f}"
            )
        cold_ratio, hot_ratio, parsed_ratio = (rates[10][i] / rates[10_000][i] for i in range(3))
        print(
            f"{mix_name:<14} 10-rule / 10,000-rule throughput: cold {cold_ratio:.2f}x, hot {hot_ratio:.2f}x,"
            f" parsed {parsed_ratio:.2f}x"
        )
    routes = route_rates(events, args.runs)
    print(f"{'router':<14}{'subs':>7}{'routes/s':>20}{'targets/event':>28}")
    for count, (rate, per_event) in routes.items():
        print(f"{'router':<14}{count:>7}{rate:>20,.0f}{per_event:>28.2f}")
    print(f"{'router':<14} 10-rule / 10,000-rule routes/s (cold): {routes[10][0] / routes[10_000][0]:.2f}x")


if __name__ == "__main__":
    main()
