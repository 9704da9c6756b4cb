"""The fake Slack against the real slack-bolt AsyncApp and slack_sdk AsyncWebClient, unchanged.

Each test drives the real libraries; what is asserted is what Slack would have shown or answered.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from simulators.slack import BucketSpec, SlackSimulator
from simulators.slack.fixtures import http_mode_app, socket_mode_app

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"


def bolt_app(sim: SlackSimulator, **kwargs: Any) -> AsyncApp:
    """A bolt app whose only seam is the client's base_url."""
    client = AsyncWebClient(token=sim.bot_token, base_url=sim.api_url)
    return AsyncApp(client=client, signing_secret=sim.signing_secret, **kwargs)


async def test_socket_mode_mention_gets_threaded_reply(slack_sim: SlackSimulator) -> None:
    app = bolt_app(slack_sim)
    seen: list[dict[str, Any]] = []

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], say: Any) -> None:
        seen.append(event)
        await say(text="hello back", thread_ts=event["ts"])

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        seen.append(event)

    async with socket_mode_app(slack_sim, app):
        posted = await slack_sim.user_mentions_app(CHANNEL, ALICE, "hi there")
        assert await posted.acked(3)
        texts = await slack_sim.wait_bot_messages(CHANNEL, posted.ts)

    assert texts == ["hello back"]
    assert [e["type"] for e in seen[:2]] == ["app_mention", "message"]
    assert seen[0]["text"] == f"<@{slack_sim.bot_user_id}> hi there"
    reply = slack_sim.bot_message_records(CHANNEL, posted.ts)[0]
    assert reply.thread_ts == posted.ts and reply.bot_id == slack_sim.bot_id
    assert slack_sim.calls("auth.test")[0].ok  # bolt authorizes first
    post = slack_sim.calls("chat.postMessage")[0]
    assert post.params["thread_ts"] == posted.ts and post.token_kind == "bot"
    # The bot's own message came back as an event and bolt acknowledged (and ignored) it.
    echoes = [d for d in slack_sim.deliveries() if d.payload["event"].get("bot_id") == slack_sim.bot_id]
    assert echoes and await slack_sim.wait_for(lambda: echoes[0].acked.is_set(), 3)


async def test_unacked_envelope_is_redelivered_with_retry_attempt() -> None:
    async with SlackSimulator() as sim:
        sim.config.ack_timeout = 0.3
        sim.config.retry_delays = (0.0,)
        app = bolt_app(sim, process_before_response=True)  # ack only after the listener returns
        retries: list[tuple[str | None, str | None]] = []

        @app.event("app_mention")
        async def slow_first_time(request: Any) -> None:
            retries.append(
                (
                    request.headers.get("x-slack-retry-num", [None])[0],
                    request.headers.get("x-slack-retry-reason", [None])[0],
                )
            )
            if len(retries) == 1:
                await asyncio.sleep(0.6)

        sim.config.echo_bot_messages = False
        async with socket_mode_app(sim, app):
            posted = await sim.user_mentions_app(CHANNEL, ALICE, "slow one")
            mention = posted.deliveries[0]
            assert await sim.wait_for(lambda: mention.acked.is_set(), 3)
            assert [(a.retry_num, a.outcome) for a in mention.attempts] == [(0, "timeout"), (1, "acked")]
            # Slack sends retry_attempt 0 / retry_reason "" on the first try; bolt turns them into headers.
            assert retries == [("0", ""), ("1", "timeout")]

            sim.deliver_again(mention.event_id or "")
            assert await sim.wait_for(lambda: len(retries) == 3, 3)
            assert retries[-1] == ("2", "timeout")


async def test_chat_stream_in_channel_needs_recipients(
    slack_sim: SlackSimulator, slack_sim_client: AsyncWebClient
) -> None:
    client = slack_sim_client
    slack_sim.config.rate_limits.pop("chat.startStream")  # Tier 2 (burst 3) would refuse the 4th start here
    parent = await slack_sim.user_mentions_app(CHANNEL, ALICE, "stream please")

    streamer = await client.chat_stream(
        channel=CHANNEL,
        thread_ts=parent.ts,
        recipient_team_id=slack_sim.team_id,
        recipient_user_id=ALICE,
        buffer_size=8,
    )
    for piece in ["Hello ", "**wor", "ld**, this is ", "streamed."]:
        await streamer.append(markdown_text=piece)
    await streamer.stop()

    assert slack_sim.bot_messages(CHANNEL, parent.ts) == ["Hello **world**, this is streamed."]
    assert streamer.ts is not None
    versions = slack_sim.message_history(CHANNEL, streamer.ts)
    assert len(versions) >= 3 and versions[-1].visible_text == "Hello **world**, this is streamed."
    assert [v.at for v in versions] == sorted(v.at for v in versions)
    assert {c.method for c in slack_sim.calls()} >= {"chat.startStream", "chat.appendStream", "chat.stopStream"}

    with pytest.raises(SlackApiError) as err:
        await client.chat_startStream(channel=CHANNEL, thread_ts=parent.ts)
    assert err.value.response["error"] == "missing_recipient_team_id"
    with pytest.raises(SlackApiError) as err:
        await client.chat_startStream(channel=CHANNEL, thread_ts=parent.ts, recipient_team_id=slack_sim.team_id)
    assert err.value.response["error"] == "missing_recipient_user_id"
    # After stop the message is no longer streaming.
    with pytest.raises(SlackApiError) as err:
        await client.chat_appendStream(channel=CHANNEL, ts=streamer.ts, markdown_text="more")
    assert err.value.response["error"] == "message_not_in_streaming_state"
    # In a DM, no recipient ids are needed.
    dm = await slack_sim.user_dm(ALICE, "hi in dm")
    started = await client.chat_startStream(channel=dm.channel, thread_ts=dm.ts, markdown_text="dm text")
    assert started["ok"] and slack_sim.bot_messages(dm.channel, dm.ts) == ["dm text"]


async def test_stream_refused_or_expired_falls_back_to_update(
    slack_sim: SlackSimulator, slack_sim_client: AsyncWebClient
) -> None:
    client = slack_sim_client
    parent = await slack_sim.user_posts(CHANNEL, ALICE, "question")
    recipients = {"recipient_team_id": slack_sim.team_id, "recipient_user_id": ALICE}

    slack_sim.config.streaming_error = "feature_not_enabled"
    with pytest.raises(SlackApiError) as err:
        await client.chat_startStream(channel=CHANNEL, thread_ts=parent.ts, **recipients)
    assert err.value.response["error"] == "feature_not_enabled"

    slack_sim.config.streaming_error = None
    slack_sim.config.stream_lifetime = 0.2
    started = await client.chat_startStream(
        channel=CHANNEL, thread_ts=parent.ts, markdown_text="part one", **recipients
    )
    await asyncio.sleep(0.3)
    with pytest.raises(SlackApiError) as err:
        await client.chat_appendStream(channel=CHANNEL, ts=started["ts"], markdown_text=" part two")
    assert err.value.response["error"] == "message_not_in_streaming_state"
    # chat.update keeps a message's blocks when none are given, so the fallback sends its markdown block.
    await client.chat_update(channel=CHANNEL, ts=started["ts"], text="part one part two")
    assert slack_sim.bot_messages(CHANNEL, parent.ts) == ["part one"]
    markdown = [{"type": "markdown", "text": "part one part two"}]
    await client.chat_update(channel=CHANNEL, ts=started["ts"], text="part one part two", blocks=markdown)
    assert slack_sim.bot_messages(CHANNEL, parent.ts) == ["part one part two"]

    too_long = "x" * 12_001
    with pytest.raises(SlackApiError) as err:
        await client.chat_startStream(channel=CHANNEL, thread_ts=parent.ts, markdown_text=too_long, **recipients)
    assert err.value.response["error"] == "msg_too_long"


async def test_length_limits(slack_sim: SlackSimulator, slack_sim_client: AsyncWebClient) -> None:
    client = slack_sim_client
    slack_sim.config.rate_limits.clear()  # refused calls count against the budget too; not the point here
    posted = await client.chat_postMessage(channel=CHANNEL, text="short")

    async def error_of(coro: Any) -> str:
        with pytest.raises(SlackApiError) as err:
            await coro
        return str(err.value.response["error"])

    assert await error_of(client.chat_update(channel=CHANNEL, ts=posted["ts"], text="y" * 4_001)) == "msg_too_long"
    await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="y" * 4_000)
    slack_sim.config.update_text_limit = 40_000
    await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="y" * 4_001)

    assert await error_of(client.chat_postMessage(channel=CHANNEL, text="z" * 40_001)) == "msg_too_long"
    with pytest.warns(UserWarning, match="text"):  # slack_sdk itself warns about the missing text
        assert await error_of(client.chat_postMessage(channel=CHANNEL, text="")) == "no_text"
    big_md = [{"type": "markdown", "text": "m" * 12_001}]
    assert await error_of(client.chat_postMessage(channel=CHANNEL, text="fb", blocks=big_md)) == "invalid_blocks"
    two_md = [{"type": "markdown", "text": "m" * 7_000}, {"type": "markdown", "text": "m" * 7_000}]
    assert await error_of(client.chat_postMessage(channel=CHANNEL, text="fb", blocks=two_md)) == "invalid_blocks"
    section = [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3_001}}]
    assert await error_of(client.chat_postMessage(channel=CHANNEL, text="fb", blocks=section)) == "invalid_blocks"

    ok = await client.chat_postMessage(
        channel="C0RANDOM", text="fallback", blocks=[{"type": "markdown", "text": "# Title\n\n`code`"}]
    )
    assert slack_sim.bot_messages("C0RANDOM") == ["# Title\n\n`code`"]
    assert slack_sim.message("C0RANDOM", ok["ts"]) is not None


async def test_chat_update_burst_gets_429_and_sdk_handler_retries(slack_sim: SlackSimulator) -> None:
    slack_sim.config.rate_limits["chat.update"] = (BucketSpec(capacity=2, refill_per_s=2.0),)
    plain = AsyncWebClient(token=slack_sim.bot_token, base_url=slack_sim.api_url)
    posted = await plain.chat_postMessage(channel=CHANNEL, text="v0")

    await plain.chat_update(channel=CHANNEL, ts=posted["ts"], text="v1")
    await plain.chat_update(channel=CHANNEL, ts=posted["ts"], text="v2")
    with pytest.raises(SlackApiError) as err:
        await plain.chat_update(channel=CHANNEL, ts=posted["ts"], text="v3")
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "1"
    assert slack_sim.count_429("chat.update") == 1

    patient = AsyncWebClient(
        token=slack_sim.bot_token,
        base_url=slack_sim.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    started = time.monotonic()
    await patient.chat_update(channel=CHANNEL, ts=posted["ts"], text="v3")  # may or may not hit the limit
    await patient.chat_update(channel=CHANNEL, ts=posted["ts"], text="v4")
    await patient.chat_update(channel=CHANNEL, ts=posted["ts"], text="v5")
    assert slack_sim.count_429("chat.update") >= 2
    assert time.monotonic() - started >= 0.9  # the handler slept Retry-After
    assert slack_sim.bot_messages(CHANNEL) == ["v5"]
    statuses = [c.status for c in slack_sim.calls("chat.update")]
    assert statuses[-1] == 200 and 429 in statuses[3:]


async def test_post_message_limit_is_per_channel(slack_sim: SlackSimulator, slack_sim_client: AsyncWebClient) -> None:
    for i in range(3):
        await slack_sim_client.chat_postMessage(channel=CHANNEL, text=f"burst {i}")
    with pytest.raises(SlackApiError) as err:
        await slack_sim_client.chat_postMessage(channel=CHANNEL, text="one too many")
    assert err.value.response.status_code == 429
    await slack_sim_client.chat_postMessage(channel="C0RANDOM", text="other channel is fine")
    assert slack_sim.count_429() == 1


async def test_file_share_download_needs_files_read(slack_sim: SlackSimulator) -> None:
    app = bolt_app(slack_sim)
    downloaded: list[tuple[str, bytes]] = []

    @app.event({"type": "message", "subtype": "file_share"})
    async def on_file(event: dict[str, Any], client: AsyncWebClient) -> None:
        url = event["files"][0]["url_private_download"]
        headers = {"Authorization": f"Bearer {client.token}"}
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
            downloaded.append((resp.content_type, await resp.read()))

    async with socket_mode_app(slack_sim, app):
        first = await slack_sim.user_posts(CHANNEL, ALICE, "see file", files=[("notes.txt", b"hello file")])
        assert await slack_sim.wait_for(lambda: len(downloaded) == 1, 3)
        slack_sim.set_bot_scopes({"chat:write"})
        await slack_sim.user_posts(CHANNEL, ALICE, "again", thread_ts=first.ts, files=[("a.pdf", b"%PDF-1.4")])
        assert await slack_sim.wait_for(lambda: len(downloaded) == 2, 3)

    assert downloaded[0] == ("text/plain", b"hello file")
    assert downloaded[1][0] == "text/html" and b"Sign in" in downloaded[1][1]
    assert [d.authorized for d in slack_sim.downloads] == [True, False]
    event = slack_sim.deliveries()[0].payload["event"]
    assert event["subtype"] == "file_share" and event["files"][0]["name"] == "notes.txt"


async def test_files_upload_v2_and_read_back(slack_sim: SlackSimulator, slack_sim_client: AsyncWebClient) -> None:
    parent = await slack_sim.user_posts(CHANNEL, ALICE, "send me a file")
    result = await slack_sim_client.files_upload_v2(
        channel=CHANNEL, thread_ts=parent.ts, content=b"a,b\n1,2\n", filename="data.csv", title="Data"
    )
    file_id = result["files"][0]["id"]
    info = await slack_sim_client.files_info(file=file_id)
    assert info["file"]["name"] == "data.csv" and info["file"]["size"] == 8
    shared = slack_sim.bot_message_records(CHANNEL, parent.ts)
    assert len(shared) == 1 and shared[0].files[0]["id"] == file_id
    async with aiohttp.ClientSession() as http:
        url = info["file"]["url_private_download"]
        async with http.get(url, headers={"Authorization": f"Bearer {slack_sim.bot_token}"}) as resp:
            assert await resp.read() == b"a,b\n1,2\n"


async def test_auth_errors_and_read_methods(slack_sim: SlackSimulator, slack_sim_client: AsyncWebClient) -> None:
    async def error_of(client: AsyncWebClient, method: str, **kwargs: Any) -> str:
        with pytest.raises(SlackApiError) as err:
            await client.api_call(method, params=kwargs)
        return str(err.value.response["error"])

    anonymous = AsyncWebClient(base_url=slack_sim.api_url)
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack_sim.api_url)
    assert await error_of(anonymous, "auth.test") == "not_authed"
    assert await error_of(wrong, "auth.test") == "invalid_auth"
    assert await error_of(slack_sim_client, "apps.connections.open") == "not_allowed_token_type"
    opened = await AsyncWebClient(base_url=slack_sim.api_url).apps_connections_open(app_token=slack_sim.app_token)
    assert opened["url"].startswith("ws://127.0.0.1:")

    client = slack_sim_client
    parent = await slack_sim.user_mentions_app(CHANNEL, ALICE, "question")
    await client.chat_postMessage(channel=CHANNEL, thread_ts=parent.ts, text="answer")
    await slack_sim.user_posts(CHANNEL, "U0BOB", "follow-up", thread_ts=parent.ts)
    replies = await client.conversations_replies(channel=CHANNEL, ts=parent.ts)
    assert [m["text"] for m in replies["messages"]] == [parent.text, "answer", "follow-up"]
    assert replies["messages"][0]["reply_count"] == 2
    assert replies["messages"][1]["bot_id"] == slack_sim.bot_id
    history = await client.conversations_history(channel=CHANNEL, limit=1)
    assert history["messages"][0]["ts"] == parent.ts and not history["has_more"]
    info = await client.conversations_info(channel="D0ALICE")
    assert info["channel"]["is_im"] and info["channel"]["user"] == ALICE
    user = await client.users_info(user=ALICE)
    assert user["user"]["name"] == "alice" and not user["user"]["is_bot"]
    await client.reactions_add(channel=CHANNEL, timestamp=parent.ts, name="eyes")
    assert await error_of(client, "reactions.add", channel=CHANNEL, timestamp=parent.ts, name="eyes") == (
        "already_reacted"
    )
    await client.assistant_threads_setStatus(channel_id=CHANNEL, thread_ts=parent.ts, status="is thinking…")
    assert slack_sim.thread_statuses(CHANNEL, parent.ts) == ["is thinking…"]
    await client.chat_postEphemeral(channel=CHANNEL, user="U0BOB", text="only for bob")
    assert [e["text"] for e in slack_sim.ephemerals(CHANNEL, "U0BOB")] == ["only for bob"]
    answer = slack_sim.bot_message_records(CHANNEL, parent.ts)[0]
    await client.chat_delete(channel=CHANNEL, ts=answer.ts)
    assert slack_sim.bot_messages(CHANNEL, parent.ts) == []
    assert await error_of(client, "chat.update", channel=CHANNEL, ts=parent.ts, text="x") == "cant_update_message"
    assert await error_of(client, "chat.postMessage", channel="C0NOPE", text="x") == "channel_not_found"
    slack_sim.set_bot_scopes({"chat:write"})
    assert await error_of(client, "users.info", user=ALICE) == "missing_scope"


async def test_message_subtypes_reach_the_app(slack_sim: SlackSimulator) -> None:
    app = bolt_app(slack_sim)
    seen: list[dict[str, Any]] = []

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        seen.append(event)

    slack_sim.config.echo_bot_messages = False
    async with socket_mode_app(slack_sim, app):
        posted = await slack_sim.user_posts(CHANNEL, ALICE, "original")
        await slack_sim.user_edits(CHANNEL, posted.ts, "edited")
        await slack_sim.user_deletes(CHANNEL, posted.ts)
        await slack_sim.user_joins(CHANNEL, "U0BOB")
        await slack_sim.other_bot_posts(CHANNEL, "beep")
        assert await slack_sim.wait_for(lambda: len(seen) == 5, 3)

    by_subtype = {e.get("subtype"): e for e in seen}
    assert set(by_subtype) == {None, "message_changed", "message_deleted", "channel_join", "bot_message"}
    assert by_subtype["message_changed"]["message"]["text"] == "edited"
    assert by_subtype["message_deleted"]["deleted_ts"] == posted.ts
    assert by_subtype["bot_message"]["bot_id"] == "B0OTHERBOT" and "user" not in by_subtype["bot_message"]


async def test_slash_command_over_socket_mode(slack_sim: SlackSimulator) -> None:
    app = bolt_app(slack_sim)

    @app.command("/owui")
    async def owui(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        await ack("working on it")
        await respond(f"you asked: {command['text']}")
        await respond(text="for everyone", response_type="in_channel")

    async with socket_mode_app(slack_sim, app):
        invocation = await slack_sim.slash_command("/owui", "status", ALICE, CHANNEL)
        assert await invocation.acked(3)
        responses = await invocation.wait_responses(2, timeout=3)

    assert invocation.ack_payload == {"text": "working on it"}
    assert [(r.response_type, r.text) for r in responses] == [
        ("ephemeral", "you asked: status"),
        ("in_channel", "for everyone"),
    ]
    assert slack_sim.bot_messages(CHANNEL) == ["for everyone"]
    assert [e["text"] for e in slack_sim.ephemerals(CHANNEL, ALICE)] == ["you asked: status"]


async def test_response_url_takes_five_posts(slack_sim: SlackSimulator) -> None:
    invocation = await slack_sim.slash_command("/owui", "help", ALICE, CHANNEL)  # nobody listening: fine
    async with aiohttp.ClientSession() as http:
        statuses = []
        for i in range(6):
            async with http.post(invocation.response_url, json={"text": f"r{i}"}) as resp:
                statuses.append(resp.status)
    assert statuses == [200] * 5 + [404]
    assert [r.text for r in invocation.responses] == [f"r{i}" for i in range(5)]


async def test_http_mode_signed_events_and_commands(slack_sim: SlackSimulator) -> None:
    app = bolt_app(slack_sim)
    retry_nums: list[str | None] = []

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], say: Any, request: Any) -> None:
        retry_nums.append(request.headers.get("x-slack-retry-num", [None])[0])
        await say(text="over http", thread_ts=event["ts"])

    @app.event("message")
    async def on_message() -> None:
        return None

    @app.command("/owui")
    async def owui(ack: Any, respond: Any) -> None:
        await ack()
        await respond("http respond")

    async with http_mode_app(slack_sim, app):
        verified = await slack_sim.url_verification("abc123")
        assert verified.status == 200 and verified.json() == {"challenge": "abc123"}

        posted = await slack_sim.user_mentions_app(CHANNEL, ALICE, "via http")
        assert await posted.acked(3)
        assert await slack_sim.wait_bot_messages(CHANNEL, posted.ts) == ["over http"]
        slack_sim.deliver_again(posted.event_ids[0])
        assert await slack_sim.wait_for(lambda: len(retry_nums) == 2, 3)
        assert retry_nums == [None, "1"]

        body = slack_sim.build_message_event(CHANNEL, ALICE, "forged")
        bad = await slack_sim.send_http("events_api", body, signature="v0=" + "0" * 64)
        assert bad.status == 401
        stale = await slack_sim.send_http("events_api", body, timestamp=int(time.time()) - 600)
        assert stale.status == 401
        good = await slack_sim.send_http("events_api", body)
        assert good.status == 200

        invocation = await slack_sim.slash_command("/owui", "status", ALICE, CHANNEL)
        assert await invocation.acked(3)
        assert [r.text for r in await invocation.wait_responses(1, timeout=3)] == ["http respond"]
        assert invocation.delivery.attempts[0].http_status == 200


async def test_http_mode_retries_a_slow_ack(slack_sim: SlackSimulator) -> None:
    slack_sim.config.ack_timeout = 0.3
    slack_sim.config.echo_bot_messages = False
    app = bolt_app(slack_sim, process_before_response=True)  # the HTTP answer waits for the listener
    calls: list[tuple[str | None, str | None]] = []

    @app.event("app_mention")
    async def slow_first_time(request: Any) -> None:
        calls.append(
            (
                request.headers.get("x-slack-retry-num", [None])[0],
                request.headers.get("x-slack-retry-reason", [None])[0],
            )
        )
        if len(calls) == 1:
            await asyncio.sleep(0.6)

    @app.event("message")
    async def on_message() -> None:
        return None

    async with http_mode_app(slack_sim, app):
        posted = await slack_sim.user_mentions_app(CHANNEL, ALICE, "slow over http")
        mention = posted.deliveries[0]
        assert await slack_sim.wait_for(mention.acked.is_set, 3)
    assert [(a.retry_num, a.outcome) for a in mention.attempts] == [(0, "http_timeout"), (1, "acked")]
    assert calls == [(None, None), ("1", "http_timeout")]


def mention_collector(sim: SlackSimulator, into: list[str]) -> AsyncApp:
    """A bolt app that records the text of each mention it is given (and ignores other messages)."""
    app = bolt_app(sim)

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any]) -> None:
        into.append(event["text"])

    @app.event("message")
    async def on_message() -> None:
        return None

    return app


async def test_socket_mode_client_reconnects_after_disconnect(slack_sim: SlackSimulator) -> None:
    mentions: list[str] = []
    async with socket_mode_app(slack_sim, mention_collector(slack_sim, mentions)):
        first = slack_sim.socket.connections[0]
        await slack_sim.disconnect_sockets()
        assert await slack_sim.wait_for(lambda: any(c is not first for c in slack_sim.socket.connections), 5)
        posted = await slack_sim.user_mentions_app(CHANNEL, ALICE, "after reconnect")
        assert await posted.acked(3)
    assert len(slack_sim.calls("apps.connections.open")) == 2
    assert mentions == [posted.text]


async def test_socket_mode_spreads_envelopes_over_the_apps_connections(slack_sim: SlackSimulator) -> None:
    first: list[str] = []
    second: list[str] = []
    async with (
        socket_mode_app(slack_sim, mention_collector(slack_sim, first)),
        socket_mode_app(slack_sim, mention_collector(slack_sim, second)),
    ):
        assert await slack_sim.wait_for(lambda: len(slack_sim.socket.connections) == 2, 5)
        posted = [await slack_sim.user_mentions_app(CHANNEL, ALICE, f"spread {n}") for n in range(10)]
        for message in posted:
            assert await message.acked(3)
        assert await slack_sim.wait_for(lambda: len(first) + len(second) == len(posted), 3)
    assert sorted(first + second) == sorted(m.text for m in posted), "each envelope reached one connection once"
    assert first and second, "both connections carried events"
    mentions = [m.deliveries[0] for m in posted]
    assert {d.attempts[0].via for d in mentions} == {"socket-1", "socket-2"}
    assert all(len(d.attempts) == 1 for d in mentions)


async def test_an_envelope_left_without_ack_is_retried_on_another_connection(slack_sim: SlackSimulator) -> None:
    """A replica that hangs (its connection open, no ack): Slack retries on another connection."""
    handled: list[str] = []
    async with socket_mode_app(slack_sim, mention_collector(slack_sim, handled)), aiohttp.ClientSession() as session:
        opened = await AsyncWebClient(base_url=slack_sim.api_url).apps_connections_open(app_token=slack_sim.app_token)
        async with session.ws_connect(str(opened["url"])):  # never acknowledges anything
            assert await slack_sim.wait_for(lambda: len(slack_sim.socket.connections) == 2, 5)
            posted = [await slack_sim.user_mentions_app(CHANNEL, ALICE, f"hung {n}") for n in range(6)]
            for message in posted:
                assert await message.acked(5)
    mentions = [m.deliveries[0] for m in posted]
    retried = [d for d in mentions if len(d.attempts) > 1]
    assert retried, "some envelopes went to the silent connection"
    for delivery in retried:
        assert [(a.retry_num, a.via, a.outcome) for a in delivery.attempts] == [
            (0, "socket-2", "timeout"),
            (1, "socket-1", "acked"),
        ]
    assert sorted(handled) == sorted(m.text for m in posted), "every mention handled once, retried or not"


async def test_a_connection_told_to_disconnect_gets_nothing_new_while_another_is_open(
    slack_sim: SlackSimulator,
) -> None:
    handled: list[str] = []
    async with socket_mode_app(slack_sim, mention_collector(slack_sim, handled)), aiohttp.ClientSession() as session:
        opened = await AsyncWebClient(base_url=slack_sim.api_url).apps_connections_open(app_token=slack_sim.app_token)
        async with session.ws_connect(str(opened["url"])):  # told to disconnect, stays open a while
            assert await slack_sim.wait_for(lambda: len(slack_sim.socket.connections) == 2, 5)
            await slack_sim.disconnect_sockets()
            assert await slack_sim.wait_for(lambda: any(c.name == "socket-3" for c in slack_sim.socket.connections))
            posted = [await slack_sim.user_mentions_app(CHANNEL, ALICE, f"after refresh {n}") for n in range(6)]
            for message in posted:
                assert await message.acked(5)
    assert [[(a.via, a.outcome) for a in m.deliveries[0].attempts] for m in posted] == [[("socket-3", "acked")]] * 6
    assert sorted(handled) == sorted(m.text for m in posted)


async def test_interactive_payload_reaches_action_listener(slack_sim: SlackSimulator) -> None:
    app = bolt_app(slack_sim)
    clicked: list[str] = []

    @app.action("feedback_good")
    async def on_click(ack: Any, action: dict[str, Any]) -> None:
        await ack()
        clicked.append(action["value"])

    payload = {
        "type": "block_actions",
        "team": {"id": slack_sim.team_id, "domain": "simteam"},
        "user": {"id": ALICE, "team_id": slack_sim.team_id},
        "api_app_id": slack_sim.app_id,
        "channel": {"id": CHANNEL},
        "trigger_id": "1.2.3",
        "actions": [{"type": "button", "action_id": "feedback_good", "block_id": "b1", "value": "thumbs"}],
    }
    async with socket_mode_app(slack_sim, app):
        delivery = slack_sim.deliver_interactive(payload)
        assert await slack_sim.wait_for(delivery.acked.is_set, 3)
    assert clicked == ["thumbs"]
