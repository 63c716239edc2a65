"""The store on real SQLite and real PostgreSQL: migrations, repositories, concurrency."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from modelyard.domain.deployments import Deployment, Environment, Revision, RevisionSpec
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.ids import ReplicaId
from modelyard.domain.models import Alias, Model, ModelVersion
from modelyard.domain.replicas import Replica, ReplicaEvent, ReplicaState, transition
from modelyard.domain.tenancy import ApiKey, Role
from modelyard.store.unit_of_work import Store

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)




def version(n: int, digest: str = "sha256:" + "a" * 64) -> ModelVersion:
    return ModelVersion("iris", n, digest, "sklearn", "classification", 10, "m.joblib", T0, "me",
                        {"k": "v"}, '{"in": 4}', None)


async def test_models_versions_aliases(store: Store) -> None:
    async with store.uow() as uow:
        await uow.models.add(Model("iris", "t", "d", T0, "me"))
        assert await uow.models.next_version("iris") == 1
        await uow.models.add_version(version(1))
        await uow.models.add_version(version(2, "sha256:" + "b" * 64))
        await uow.models.set_alias(Alias("iris", "production", 1))
        await uow.models.set_alias(Alias("iris", "production", 2))
    async with store.uow() as uow:
        assert [v.version for v in await uow.models.versions("iris")] == [1, 2]
        got = await uow.models.get_version("iris", 1)
        assert got == version(1)
        assert got is not None and got.created_at.tzinfo is not None
        assert await uow.models.aliases("iris") == [Alias("iris", "production", 2)]
        assert await uow.models.digest_in_use("sha256:" + "a" * 64)
        await uow.models.delete_version("iris", 2)
        assert await uow.models.aliases("iris") == []
        assert not await uow.models.digest_in_use("sha256:" + "b" * 64)


async def test_duplicate_version_is_a_conflict(store: Store) -> None:
    async with store.uow() as uow:
        await uow.models.add(Model("iris", "t", "", T0, "me"))
        await uow.models.add_version(version(1))
    with pytest.raises(ModelyardError) as info:
        async with store.uow() as uow:
            await uow.models.add_version(version(1))
    assert info.value.code == ErrorCode.CONFLICT


async def test_rollback_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.uow() as uow:
            await uow.models.add(Model("gone", "t", "", T0, "me"))
            raise RuntimeError("boom")
    async with store.uow() as uow:
        assert await uow.models.get("gone") is None


def deployment() -> tuple[Deployment, Revision]:
    spec = RevisionSpec("iris", 1, "production", "sklearn", "sha256:" + "a" * 64, "m.joblib")
    return (Deployment("iris", "t", Environment.STAGING, 2, 1, T0, T0),
            Revision("iris", 1, spec, T0, "me", "first"))


async def test_deployment_optimistic_concurrency(store: Store) -> None:
    d, r = deployment()
    async with store.uow() as uow:
        await uow.models.add(Model("iris", "t", "", T0, "me"))
        await uow.models.add_version(version(1))
        await uow.deployments.add(d, r)
    async with store.uow() as uow:
        saved = await uow.deployments.save(replace(d, desired_replicas=3), T0)
        assert saved.version == 2
        assert await uow.deployments.revision("iris", 1) == r
        assert await uow.deployments.uses_version("iris", 1) == ["iris"]
        assert await uow.deployments.uses_version("iris", 2) == []
    with pytest.raises(ModelyardError) as info:
        async with store.uow() as uow:
            await uow.deployments.save(replace(d, desired_replicas=5), T0)  # stale version 1
    assert info.value.code == ErrorCode.CONFLICT
    async with store.uow() as uow:
        got = await uow.deployments.get("iris")
        assert got is not None and got.desired_replicas == 3


async def test_replica_writes_carry_versions(store: Store) -> None:
    r = Replica(ReplicaId("iris-1"), "iris", 1, ReplicaState.PENDING, T0, T0)
    async with store.uow() as uow:
        await uow.replicas.add(r)
    async with store.uow() as uow:
        bound = await uow.replicas.save(transition(r, ReplicaEvent.BOUND, T0))
        assert bound.version == 2 and bound.state == ReplicaState.SCHEDULED
    with pytest.raises(ModelyardError):
        async with store.uow() as uow:
            await uow.replicas.save(transition(r, ReplicaEvent.BOUND, T0))
    async with store.uow() as uow:
        assert [x.id for x in await uow.replicas.all("iris")] == ["iris-1"]
        await uow.replicas.delete("iris-1")
        assert await uow.replicas.get("iris-1") is None


async def test_keys(store: Store) -> None:
    key = ApiKey("id1", "abcd1234", "h" * 64, "admin", "default", Role.ADMIN, T0)
    async with store.uow() as uow:
        await uow.keys.ensure_team("default", T0)
        await uow.keys.ensure_team("default", T0)
        await uow.keys.add(key)
        await uow.keys.touch("id1", T0)
    async with store.uow() as uow:
        assert await uow.keys.count() == 1
        got = await uow.keys.by_prefix("abcd1234")
        assert got == replace(key, last_used_at=T0)
        assert await uow.keys.by_prefix("nope") is None


async def test_nodes(store: Store) -> None:
    from modelyard.domain.inventory import Gpu, Node, Taint
    from modelyard.domain.nodes import NodeRecord, NodeSource

    node = Node("gpu-1", (Gpu(0, "H100-80GB", 80 * 1024**3), Gpu(1, "H100-80GB", 80 * 1024**3)),
                64000, 512 * 1024, {"zone": "a"}, (Taint("dedicated", "ml"),))
    record = NodeRecord(node, NodeSource.DECLARED, T0, ("GPU-a", "GPU-b"))
    async with store.uow() as uow:
        await uow.nodes.put(record)
        await uow.nodes.put(replace(record, draining=True))
    async with store.uow() as uow:
        got = await uow.nodes.get("gpu-1")
        assert got == replace(record, draining=True)
        assert got is not None and got.node.labels == {"zone": "a"}
        assert [n.name for n in await uow.nodes.all()] == ["gpu-1"]
        await uow.nodes.delete("gpu-1")
        assert await uow.nodes.get("gpu-1") is None


async def test_migrations_are_idempotent(store: Store) -> None:
    await asyncio.to_thread(store.migrate)
    async with store.uow() as uow:
        assert await uow.models.all() == []
