"""The gRPC server's life every entry point shares (services/common/runtime.py): bound and
NOT_SERVING while the service starts, SERVING until the stop signal, then NOT_SERVING and
the graceful stop before what the service started is closed; and `found`, the NOT_FOUND
of a handler's look-up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from crm.v1 import memory_pb2, memory_pb2_grpc, types_pb2
from crmctl.stack import free_port
from services.common import server as server_module
from services.common.errors import ServiceError
from services.common.runtime import serve_grpc
from services.common.server import Deferred, Servicer, found
from services.common.settings import ServiceSettings
from services.memory.handler import MemoryHandler

FULL_NAME = memory_pb2.DESCRIPTOR.services_by_name["MemoryService"].full_name
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def test_found_returns_what_was_found_even_when_it_is_falsy() -> None:
    assert found("job", "no job") == "job"
    assert found(0, "no count") == 0
    assert found([], "no list") == []


def test_found_raises_not_found_with_its_metadata() -> None:
    with pytest.raises(ServiceError) as caught:
        found(None, "no job j-1", job_id="j-1")
    assert caught.value.grpc_code == grpc.StatusCode.NOT_FOUND
    assert caught.value.error_code == types_pb2.ERROR_CODE_NOT_FOUND
    assert (caught.value.message, caught.value.metadata) == ("no job j-1", {"job_id": "j-1"})


def _servicer() -> Servicer:
    return Servicer(
        MemoryHandler(Deferred("database pool")),
        memory_pb2_grpc.add_MemoryServiceServicer_to_server,
        FULL_NAME,
    )


async def _status(channel: grpc.aio.Channel, service: str) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    return int(response.status)


async def _reflected_services(channel: grpc.aio.Channel) -> set[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    call = stub.ServerReflectionInfo()
    await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
    response = await call.read()
    await call.done_writing()
    assert isinstance(response, reflection_pb2.ServerReflectionResponse)
    return {s.name for s in response.list_services_response.service}


async def test_serve_grpc_serves_only_between_start_up_and_the_stop_signal(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stop_signal = asyncio.Event()
    monkeypatch.setattr(server_module, "wait_for_stop_signal", stop_signal.wait)
    port = free_port()
    settings = ServiceSettings(grpc_port=port, shutdown_grace_seconds=1.0)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    starting, may_start = asyncio.Event(), asyncio.Event()
    steps: list[str] = []

    @contextlib.asynccontextmanager
    async def started() -> AsyncIterator[None]:
        steps.append("starting")
        starting.set()
        await may_start.wait()
        yield
        # The gRPC server has stopped before what the service started closes.
        with pytest.raises(grpc.aio.AioRpcError) as stopped:
            await _status(channel, "")
        assert stopped.value.code() == grpc.StatusCode.UNAVAILABLE
        steps.append("closed")

    with caplog.at_level(logging.INFO, logger="services.common"):
        serving = asyncio.create_task(serve_grpc(settings, _servicer(), started(), shop_today="x"))
        await asyncio.wait_for(starting.wait(), 10)
        # Bound, with health and reflection, but NOT_SERVING while the service starts.
        assert await _status(channel, "") == NOT_SERVING
        assert await _status(channel, FULL_NAME) == NOT_SERVING
        assert FULL_NAME in await _reflected_services(channel)
        may_start.set()
        for _ in range(500):
            if await _status(channel, FULL_NAME) == SERVING:
                break
            await asyncio.sleep(0.01)
        assert await _status(channel, "") == SERVING
        stop_signal.set()
        await asyncio.wait_for(serving, 10)
    await channel.close()
    assert steps == ["starting", "closed"]
    listening = [r for r in caplog.records if r.getMessage() == "listening"]
    assert [(r.__dict__["port"], r.__dict__["shop_today"]) for r in listening] == [(port, "x")]


async def test_serve_grpc_without_start_up_serves_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stop_signal = asyncio.Event()
    monkeypatch.setattr(server_module, "wait_for_stop_signal", stop_signal.wait)
    port = free_port()
    settings = ServiceSettings(grpc_port=port, shutdown_grace_seconds=1.0)
    serving = asyncio.create_task(serve_grpc(settings, _servicer()))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        status = None
        for _ in range(500):
            with contextlib.suppress(grpc.aio.AioRpcError):
                status = await _status(channel, FULL_NAME)
            if status == SERVING:
                break
            await asyncio.sleep(0.01)
        assert status == SERVING
        stop_signal.set()
        await asyncio.wait_for(serving, 10)
        with pytest.raises(grpc.aio.AioRpcError):
            await _status(channel, "")
