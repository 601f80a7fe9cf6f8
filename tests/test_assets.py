"""Asset stores: local and S3 (boto3 against moto's real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest

from reelflow.store.assets import LocalAssets, S3Assets, asset_store_from_env, content_key
from reelflow.store.local import sha256_file


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint):
    store = S3Assets("reelflow-test", prefix="renders", endpoint_url=s3_endpoint,
                     keys=("test-access", "test-secret"))
    try:
        store.client.create_bucket(Bucket="reelflow-test")
    except store.client.exceptions.BucketAlreadyOwnedByYou:
        pass
    return store


def test_local_store_is_content_addressed(tmp_path):
    src = tmp_path / "edit.mp4"
    src.write_bytes(b"frames" * 1000)
    store = LocalAssets(tmp_path / "assets")
    a = store.put(src)
    assert a.key == content_key(sha256_file(src), ".mp4") and store.exists(a.key)
    assert store.put(src) == a
    out = store.get(a.key, tmp_path / "back.mp4")
    assert out.read_bytes() == src.read_bytes()


def test_s3_put_get_multipart_checksum_and_presigned_url(s3, tmp_path):
    big = tmp_path / "edit.mp4"
    big.write_bytes(os.urandom(9 * 1024 * 1024 + 123))  # over the multipart threshold
    stored = s3.put(big)
    assert stored.key.startswith("renders/sha256/") and stored.uri == f"s3://reelflow-test/{stored.key}"
    head = s3.client.head_object(Bucket="reelflow-test", Key=stored.key, ChecksumMode="ENABLED")
    assert head["ContentLength"] == big.stat().st_size
    assert head["Metadata"]["sha256"] == stored.sha256
    assert "-" in head["ETag"]  # a multipart upload's ETag
    # the same bytes again: no second upload
    before = head["LastModified"]
    assert s3.put(big) == stored
    assert s3.client.head_object(Bucket="reelflow-test", Key=stored.key)["LastModified"] == before
    back = s3.get(stored.key, tmp_path / "back.mp4")
    assert sha256_file(back) == stored.sha256
    with urllib.request.urlopen(s3.url(stored.key, expires=300)) as r:
        assert r.read() == big.read_bytes()


def test_store_from_env(s3_endpoint, monkeypatch, tmp_path):
    monkeypatch.delenv("REELFLOW_S3_BUCKET", raising=False)
    assert isinstance(asset_store_from_env(tmp_path), LocalAssets)
    monkeypatch.setenv("REELFLOW_S3_BUCKET", "reelflow-test")
    monkeypatch.setenv("REELFLOW_S3_ENDPOINT", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-access")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    store = asset_store_from_env(tmp_path)
    assert isinstance(store, S3Assets)
    small = tmp_path / "a.json"
    small.write_text("{}")
    try:
        store.client.create_bucket(Bucket="reelflow-test")
    except store.client.exceptions.BucketAlreadyOwnedByYou:
        pass
    assert store.exists(store.put(small).key)


def test_task_cache_in_s3_result_storage(prefect_harness, s3_endpoint, tmp_path, monkeypatch, counting_provider):
    """REELFLOW_RESULT_STORAGE puts Prefect's persisted task results (the cache) in an S3 bucket."""
    import boto3
    from prefect_aws import AwsCredentials, S3Bucket
    from prefect_aws.client_parameters import AwsClientParameters

    from reelflow.flows.render import render_shotlist

    from .conftest import make_repo

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="k", aws_secret_access_key="k",
                      region_name="us-east-1")
    s3.create_bucket(Bucket="prefect-results")
    creds = AwsCredentials(aws_access_key_id="k", aws_secret_access_key="k", region_name="us-east-1",
                           aws_client_parameters=AwsClientParameters(endpoint_url=s3_endpoint))
    S3Bucket(bucket_name="prefect-results", credentials=creds, bucket_folder="cache").save(
        "reelflow-results", overwrite=True)
    monkeypatch.setenv("REELFLOW_RESULT_STORAGE", "s3-bucket/reelflow-results")
    path = make_repo(tmp_path, "title: S3\noutput: {resolution: 720p, deliverables: []}\n"
                               "shots:\n  - {id: one, prompt: Harbor, duration: 1}\n", music=False)
    kw = dict(out_dir=str(tmp_path / "out"), approval="prototype-only", store_dir=str(tmp_path / "store"))
    render_shotlist(str(path), **kw)
    n = len(counting_provider.submits)
    # a task's result is cached once the store holds the files it names (the store-aware policy
    # gives no key while they are missing), so the second run fills the cache and the third reads it
    again = render_shotlist(str(path), **kw)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="prefect-results").get("Contents", [])]
    assert any(k.startswith("cache/generate-") for k in keys) and any(k.startswith("cache/export-") for k in keys)
    assert not any((tmp_path / "store" / "prefect-results").iterdir())  # nothing cached locally
    third = render_shotlist(str(path), **kw)
    assert len(counting_provider.submits) == n
    assert all(s["draft"]["cache_hit"] for m in (again, third) for s in m["shots"])
