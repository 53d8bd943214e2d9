"""files.*: the three steps of files_upload_v2 (get an upload URL, upload, complete)."""

from __future__ import annotations

from sandbox.slack_api.args import json_arg, opt_str, required
from sandbox.slack_api.errors import ApiError
from sandbox.slack_api.models import JSON, MAX_TEXT, Message, UploadedFile
from sandbox.slack_api.store import SlackStore


class FilesApi(SlackStore):
    """The files.* methods of the fake Web API, and the upload URL they hand out."""

    def _files_get_upload_url(self, args: JSON, origin: str) -> JSON:
        filename, length_arg = required(args, "filename", "length")
        try:
            length = int(length_arg)
        except ValueError as exc:
            raise ApiError("invalid_arguments", errors=["length: must be an integer"]) from exc
        file_id = self._next_id("F")
        upload_url = f"{origin}/upload/{file_id}"
        self._files[file_id] = UploadedFile(
            file_id,
            filename,
            length,
            upload_url,
            alt_txt=opt_str(args.get("alt_txt")),
            snippet_type=opt_str(args.get("snippet_type")),
        )
        return {"upload_url": upload_url, "file_id": file_id}

    def _receive_upload(self, file_id: str, data: bytes) -> JSON:
        upload = self._files.get(file_id)
        if upload is None or upload.completed:
            raise ApiError("file_not_found", status=404)
        if len(data) != upload.length:
            self._violate(f"upload {file_id}: got {len(data)} bytes, announced {upload.length}")
        upload.data = data
        return {"bytes": len(data)}

    def _files_complete_upload(self, args: JSON, origin: str) -> JSON:
        entries = json_arg(args, "files", "invalid_arguments")
        if not isinstance(entries, list) or not entries:
            raise ApiError("invalid_arguments", errors=["files: is required"])
        uploads: list[tuple[UploadedFile, JSON]] = []
        for entry in entries:
            file_id = entry.get("id") if isinstance(entry, dict) else None
            upload = self._files.get(str(file_id))
            if upload is None or upload.data is None or upload.completed:
                self._violate(
                    f"files.completeUploadExternal: unknown or unfinished file {file_id!r}"
                )
                raise ApiError("file_not_found")
            uploads.append((upload, entry))
        channel_ids: list[str] = []
        channel_arg = opt_str(args.get("channel_id"))
        channels_arg = opt_str(args.get("channels"))
        if channel_arg is not None:
            channel_ids.append(self._resolve_channel(channel_arg))
        if channels_arg is not None:
            channel_ids.extend(self._resolve_channel(c.strip()) for c in channels_arg.split(","))
        comment = opt_str(args.get("initial_comment"))
        if comment is not None and len(comment) > MAX_TEXT:
            raise ApiError("msg_too_long")
        for upload, entry in uploads:
            upload.title = opt_str(entry.get("title")) or upload.filename
            upload.completed = True
            upload.channels = list(channel_ids)
            upload.initial_comment = comment
        for channel_id in channel_ids:
            thread_ts = self._thread(
                channel_id, args.get("thread_ts"), "files.completeUploadExternal"
            )
            msg = Message(
                channel_id,
                self._next_ts(),
                comment or "",
                thread_ts=thread_ts,
                files=[u.id for u, _ in uploads],
            )
            self._messages.setdefault(channel_id, []).append(msg)
            for upload, _ in uploads:
                upload.thread_ts = thread_ts
        return {
            "files": [
                {"id": u.id, "name": u.filename, "title": u.title, "size": u.length}
                for u, _ in uploads
            ]
        }
