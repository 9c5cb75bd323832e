"""The Genesys connector against a fake Genesys Cloud (written from the documented protocol) and a
real SQLite store: notifications become events once each, and drops, dead sockets, socket_closing,
429/5xx and token expiry are survived with every gap reported."""

from __future__ import annotations

from pathlib import Path

from genesys_support import QUEUE_TOPIC, running

from ccbridge.testing.genesys import FakeGenesys

Q1 = "v2.routing.queues.q-1.conversations"
USER = "v2.users.5f2d3c1a-0b6e-4a37-9d1e-2f4b6c8d0e1f.presence"


async def test_a_notification_becomes_an_event_typed_by_its_topic(tmp_path: Path) -> None:
    """type = the topic with ids as {id}, data = eventBody, the concrete topic and ids in metadata."""
    async with (
        FakeGenesys(heartbeat_seconds=0.2) as fake,
        running(tmp_path, fake, topics=[{"topic": QUEUE_TOPIC, "ids": ["q-1", "q-2"]}, USER]) as h,
    ):
        await h.subscribed()
        assert await fake.publish(Q1, {"id": "conv-1", "participants": []}) == 1
        assert await fake.publish(USER, {"presenceDefinition": {"systemPresence": "Available"}}) == 1
        await h.until(lambda: len(h.notifications()) == 2)
        queue, user = h.notifications()
        assert (queue["type"], queue["data"]) == (QUEUE_TOPIC, {"id": "conv-1", "participants": []})
        assert queue["metadata"]["genesysTopic"] == Q1 and queue["metadata"]["genesysIds"] == "q-1"
        assert queue["key"].startswith("connector:gc-test:sha256:")
        assert user["type"] == "v2.users.{id}.presence"
        assert user["metadata"]["genesysIds"] == "5f2d3c1a-0b6e-4a37-9d1e-2f4b6c8d0e1f"
        assert h.connector.status()["messages"] == 2 and h.gaps() == []


async def test_a_message_read_twice_is_stored_once(tmp_path: Path) -> None:
    """The same notification arriving twice (two channels overlapping) is one event."""
    async with FakeGenesys(heartbeat_seconds=0.2) as fake, running(tmp_path, fake) as h:
        await h.subscribed()
        for _ in range(2):
            await fake.publish(Q1, {"id": "conv-1", "state": "alerting"})
        await h.until(lambda: h.connector.status()["duplicates"] == 1)
        assert len(h.notifications()) == 1


async def test_socket_closing_subscribes_a_new_channel_before_closing_the_old(tmp_path: Path) -> None:
    """On v2.system.socket_closing a second channel is subscribed while the first socket is still
    open, then the first is closed: no gap, and what follows arrives on the new channel."""
    async with FakeGenesys(heartbeat_seconds=0.2) as fake, running(tmp_path, fake) as h:
        await h.subscribed()
        first = h.connector.status()["channels"][0]["id"]
        await fake.socket_closing()
        await h.until(lambda: fake.channels_created == 2 and fake.open_sockets() == 1)
        assert fake.sockets_at_subscribe == [
            1,
            2,
        ]  # the old socket was still open when the new one subscribed
        await h.subscribed()
        assert h.connector.status()["channels"][0]["id"] != first
        await fake.publish(Q1, {"id": "conv-2"})
        await h.until(lambda: len(h.notifications()) == 1)
        assert h.gaps() == []


async def test_a_dropped_socket_is_replaced_and_the_window_reported_as_a_gap(tmp_path: Path) -> None:
    """A drop opens a new channel at once; the window without a socket is a ccbridge.connector.gap event."""
    async with FakeGenesys(heartbeat_seconds=0.2) as fake, running(tmp_path, fake) as h:
        await h.subscribed()
        assert await fake.drop() == 1
        await h.until(lambda: len(h.gaps()) == 1)
        [gap] = h.gaps()
        assert gap["connector"] == "gc-test" and sorted(gap["topics"]) == [
            Q1,
            "v2.routing.queues.q-2.conversations",
        ]
        assert gap["from"] <= gap["to"]
        await h.subscribed()
        await fake.publish(Q1, {"id": "after-the-drop"})
        await h.until(lambda: len(h.notifications()) == 1)
        assert h.connector.status()["lastGap"]["from"] == gap["from"]


async def test_a_silent_socket_is_dead_after_the_heartbeat_timeout(tmp_path: Path) -> None:
    """No heartbeat within heartbeat_timeout_seconds: the socket is replaced and the gap reported."""
    async with (
        FakeGenesys(heartbeat_seconds=0.2) as fake,
        running(tmp_path, fake, heartbeat_timeout_seconds=0.6) as h,
    ):
        await h.subscribed()
        fake.silence()
        await h.until(lambda: fake.channels_created >= 2)
        fake.silence(False)
        await h.until(lambda: len(h.gaps()) >= 1)
        await h.subscribed()


async def test_429_and_5xx_are_retried_honouring_retry_after_then_the_reset(tmp_path: Path) -> None:
    """A 429 waits Retry-After, one without it waits inin-ratelimit-reset, a 503 backs off; then it subscribes."""
    async with FakeGenesys(heartbeat_seconds=0.2) as fake:
        fake.fail_next("POST", "/oauth/token", 503)
        fake.fail_next("POST", "/api/v2/notifications/channels", 429, Retry_After="3")
        fake.fail_next("PUT", "/api/v2/notifications/channels", 429, inin_ratelimit_reset="7")
        async with running(tmp_path, fake) as h:
            await h.subscribed()
            statuses = [status for _, _, status in fake.requests]
            assert statuses[:6] == [503, 200, 429, 200, 429, 200]
            assert 3.0 in h.recorder.waits and 7.0 in h.recorder.waits
            await fake.publish(Q1, {"id": "conv-3"})
            await h.until(lambda: len(h.notifications()) == 1)
            assert h.gaps() == []


async def test_a_spent_allowance_waits_for_the_reset_before_the_next_call(tmp_path: Path) -> None:
    """When inin-ratelimit-count reaches inin-ratelimit-allowed the next call waits for the reset."""
    async with FakeGenesys(heartbeat_seconds=0.2, rate_allowed=1) as fake, running(tmp_path, fake) as h:
        await h.subscribed()
        assert any(0.5 < w <= 1.0 for w in h.recorder.waits)  # the fake's reset (1 s), before a call
        assert all(status != 429 for _, _, status in fake.requests)


async def test_a_token_near_expiry_moves_to_a_new_channel_first(tmp_path: Path) -> None:
    """Before its token expires (and Genesys closes its channel) a new token's channel is subscribed
    while the old socket is open: no gap."""
    async with FakeGenesys(heartbeat_seconds=0.2, token_seconds=5) as fake, running(tmp_path, fake) as h:
        await h.subscribed()
        await h.until(lambda: fake.tokens_issued >= 2 and len(fake.sockets_at_subscribe) >= 2)
        assert fake.sockets_at_subscribe[:2] == [1, 2]
        await h.subscribed()
        await fake.publish(Q1, {"id": "conv-4"})
        await h.until(lambda: len(h.notifications()) == 1)
        assert h.gaps() == []


async def test_a_revoked_token_gets_a_new_one_and_the_gap_is_reported(tmp_path: Path) -> None:
    """Tokens expiring early close the socket and answer 401: a new token, a new channel, one gap."""
    async with FakeGenesys(heartbeat_seconds=0.2) as fake, running(tmp_path, fake) as h:
        await h.subscribed()
        await fake.expire_tokens()
        await h.until(lambda: len(h.gaps()) == 1)
        await h.subscribed()
        assert fake.tokens_issued == 2
        await fake.publish(Q1, {"id": "conv-5"})
        await h.until(lambda: len(h.notifications()) == 1)


async def test_a_channel_is_resubscribed_before_it_expires(tmp_path: Path) -> None:
    """The subscription is renewed (PUT again) before the channel's expiry, keeping the same channel."""
    async with (
        FakeGenesys(heartbeat_seconds=0.2, channel_seconds=2) as fake,
        running(tmp_path, fake, resubscribe_before_expiry_seconds=1) as h,
    ):
        await h.subscribed()
        await h.until(lambda: sum(1 for m, _, s in fake.requests if m == "PUT" and s == 200) >= 3)
        assert fake.channels_created == 1 and h.gaps() == []


async def test_topics_beyond_one_channel_are_split(tmp_path: Path) -> None:
    """2,500 topics are subscribed on three channels of at most 1,000."""
    ids = [f"q-{n}" for n in range(2500)]
    async with (
        FakeGenesys(heartbeat_seconds=0.2) as fake,
        running(tmp_path, fake, topics=[{"topic": QUEUE_TOPIC, "ids": ids}]) as h,
    ):
        await h.subscribed(channels=3)
        sizes = sorted(len(c.topics) for c in fake.channels.values())
        assert sizes == [500, 1000, 1000]
        assert await fake.publish("v2.routing.queues.q-2499.conversations", {"id": "last"}) == 1
        await h.until(lambda: len(h.notifications()) == 1)
