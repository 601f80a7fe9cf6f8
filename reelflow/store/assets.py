"""Durable asset store: where generated clips and finished edits are kept, content-addressed.

Local (default) keeps them in a folder; S3 (boto3) uploads them (multipart above 8 MiB, SHA-256
checksums verified by the server when it supports them) and hands out presigned URLs. Configure
S3 with REELFLOW_S3_BUCKET [+ REELFLOW_S3_PREFIX, REELFLOW_S3_ENDPOINT, AWS_* credentials or the
Prefect Secret blocks reelflow-aws-access-key-id / reelflow-aws-secret-access-key].
"""

from __future__ import annotations

import base64
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from reelflow.store.local import sha256_file, temp_prefix


def content_key(sha256: str, suffix: str, prefix: str = "") -> str:
    """sha256/ab/abcdef....mp4: the same bytes always land on the same key."""
    p = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    return f"{p}sha256/{sha256[:2]}/{sha256}{suffix}"


@dataclass(frozen=True)
class Stored:
    key: str
    uri: str
    sha256: str
    bytes: int


INLINE_LIMIT = 400_000
"""Bytes a page or request may carry inline (a data: URI) where no web address exists."""


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


class AssetStore(Protocol):
    def put(self, path: Path, *, name: str | None = None) -> Stored: ...
    def get(self, key: str, dest: Path) -> Path: ...
    def exists(self, key: str) -> bool: ...
    def url(self, key: str, expires: int = 7 * 24 * 3600) -> str | None: ...


class LocalAssets:
    """A folder. Its objects have browser links only when a web server publishes the folder
    (REELFLOW_ASSET_BASE_URL, e.g. `reelflow serve-assets` or nginx): a file:// link from the
    Prefect UI's http page opens nothing."""

    def __init__(self, root: str | Path, base_url: str | None = None):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.web = self.base_url is not None

    def put(self, path: Path, *, name: str | None = None) -> Stored:
        sha = sha256_file(path)
        key = content_key(sha, Path(name or path.name).suffix)
        dest = self.root / key
        if not dest.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(temp_prefix(dest.name) + "part")  # concurrent puts never share a temp
            try:
                shutil.copyfile(path, tmp)
                tmp.replace(dest)
            finally:
                tmp.unlink(missing_ok=True)
        return Stored(key, dest.as_uri(), sha, dest.stat().st_size)

    def get(self, key: str, dest: Path) -> Path:
        shutil.copyfile(self.root / key, dest)
        return dest

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def url(self, key: str, expires: int = 0) -> str | None:
        return f"{self.base_url}/{key}" if self.base_url else None


class S3Assets:
    web = True  # presigned links
    MULTIPART_THRESHOLD = 8 * 1024 * 1024

    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str | None = None,
                 region: str | None = None, keys: tuple[str | None, str | None] = (None, None),
                 checksums: bool = True):
        access_key, secret_key = keys  # None: boto3's own chain (profile, instance role)
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix, self.checksums = bucket, prefix, checksums
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region or "us-east-1",
            aws_access_key_id=access_key, aws_secret_access_key=secret_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                          retries={"max_attempts": 5, "mode": "standard"}))

    def _transfer(self):
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(multipart_threshold=self.MULTIPART_THRESHOLD,
                              multipart_chunksize=self.MULTIPART_THRESHOLD)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def put(self, path: Path, *, name: str | None = None) -> Stored:
        sha = sha256_file(path)
        key = content_key(sha, Path(name or path.name).suffix, self.prefix)
        size = path.stat().st_size
        if not self.exists(key):  # content-addressed: the same bytes are never uploaded twice
            extra = {"Metadata": {"sha256": sha}, "ContentType": _mime(path)}
            if self.checksums:
                extra["ChecksumAlgorithm"] = "SHA256"
            self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra, Config=self._transfer())
        head = self.client.head_object(Bucket=self.bucket, Key=key)
        if head["ContentLength"] != size:
            raise OSError(f"s3://{self.bucket}/{key}: {head['ContentLength']} bytes stored, {size} sent")
        stored_sha = head.get("Metadata", {}).get("sha256")
        if stored_sha and stored_sha != sha:
            raise OSError(f"s3://{self.bucket}/{key}: checksum mismatch")
        return Stored(key, f"s3://{self.bucket}/{key}", sha, size)

    def get(self, key: str, dest: Path) -> Path:
        self.client.download_file(self.bucket, key, str(dest), Config=self._transfer())
        return dest

    def url(self, key: str, expires: int = 7 * 24 * 3600) -> str:
        return self.client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                  ExpiresIn=expires)


def serve(root: Path, host: str, port: int) -> None:
    """A read-only http server over a local asset folder (content-addressed files only; no
    directory listings)."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Handler(SimpleHTTPRequestHandler):
        extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mp4": "video/mp4", ".vtt": "text/vtt",
                          ".otio": "application/json", ".edl": "text/plain", ".srt": "application/x-subrip"}

        def list_directory(self, path):  # noqa: ANN001 - http.server's signature
            self.send_error(404, "no listings")
            return None

        def log_message(self, format, *args):  # noqa: A002 - quiet
            pass

    httpd = ThreadingHTTPServer((host, port), functools.partial(Handler, directory=str(root)))
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()


def _mime(path: Path) -> str:
    return {".mp4": "video/mp4", ".json": "application/json", ".png": "image/png", ".wav": "audio/wav",
            ".srt": "application/x-subrip", ".vtt": "text/vtt", ".otio": "application/json",
            ".xml": "application/xml", ".edl": "text/plain"}.get(path.suffix.lower(), "application/octet-stream")




class Links:
    """Hrefs that open where the user is (a browser on the Prefect UI): the asset store's http(s)
    or presigned URL when it has one, else a data: URI for a small preview, else nothing (the
    artifact then shows the durable path as text)."""

    def __init__(self, assets: AssetStore):
        self.assets = assets

    def href(self, path: Path, inline_mime: str | None = None) -> str | None:
        path = Path(path)
        if not path.is_file():
            return None
        if getattr(self.assets, "web", False):  # only a store with web addresses is worth the upload
            return self.assets.url(self.assets.put(path).key)
        if inline_mime:
            data = path.read_bytes()
            if len(data) <= INLINE_LIMIT:
                return data_uri(data, inline_mime)
        return None


def asset_store_from_env(default_root: Path) -> AssetStore:
    bucket = os.environ.get("REELFLOW_S3_BUCKET")
    if not bucket:
        return LocalAssets(default_root, os.environ.get("REELFLOW_ASSET_BASE_URL") or None)
    from reelflow.runtime.secrets import credential

    return S3Assets(bucket, prefix=os.environ.get("REELFLOW_S3_PREFIX", "reelflow"),
                    endpoint_url=os.environ.get("REELFLOW_S3_ENDPOINT") or None,
                    region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
                    keys=(credential("AWS_ACCESS_KEY_ID"), credential("AWS_SECRET_ACCESS_KEY")),
                    checksums=os.environ.get("REELFLOW_S3_CHECKSUMS", "1") != "0")
