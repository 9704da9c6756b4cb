"""File intake: a platform attachment checked, downloaded and handed to OpenWebUI.

The checks come before the download (size and type as the platform announces them), so a refused file
is never fetched; the bytes are checked again once they are here, since an announcement can lie.
"""

from __future__ import annotations

import base64

from bridge.errors import UserFacingError
from bridge.filetypes import SUPPORTED, readable
from bridge.messages import Attachment
from bridge.openwebui import OpenWebUIClient
from bridge.store import StoredFile


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


class FileIntake:
    """Downloads attachments within the size limit and uploads them to OpenWebUI."""

    def __init__(self, client: OpenWebUIClient, max_bytes: int, process_timeout: float) -> None:
        self.client = client
        self.max_bytes = max_bytes
        self.process_timeout = process_timeout

    def _check_size(self, attachment: Attachment) -> None:
        if attachment.size > self.max_bytes:
            raise UserFacingError(
                f"too large ({megabytes(attachment.size)}; the limit is "
                f"{megabytes(self.max_bytes)}). Send a smaller file or a link."
            )

    async def download(self, attachment: Attachment) -> bytes:
        """The attachment's bytes, or `UserFacingError` saying why it can't be used."""
        self._check_size(attachment)
        if not attachment.is_image and not readable(attachment.filename, attachment.content_type):
            raise UserFacingError(
                f"this type of file can't be read ({attachment.content_type or 'unknown'}); send {SUPPORTED}."
            )
        try:
            data = await attachment.fetch()
        except UserFacingError:
            raise
        except Exception as exc:
            raise UserFacingError(f"could not be downloaded ({type(exc).__name__}); try sending it again.") from exc
        if len(data) > self.max_bytes:
            raise UserFacingError(f"too large (the limit is {megabytes(self.max_bytes)}).")
        if not data:
            raise UserFacingError("is empty.")
        return data

    async def image_url(self, attachment: Attachment) -> str:
        """An image as a data URL, the form OpenWebUI passes to a vision model."""
        data = await self.download(attachment)
        return f"data:{attachment.content_type};base64,{base64.b64encode(data).decode()}"

    async def upload(self, attachment: Attachment) -> StoredFile:
        """Download `attachment`, upload it to OpenWebUI and wait until it is processed."""
        data = await self.download(attachment)
        uploaded = await self.client.upload_file(
            attachment.filename, data, attachment.content_type or "application/octet-stream"
        )
        await self.client.wait_processed(uploaded.id, self.process_timeout)
        return StoredFile(uploaded.id, attachment.filename, attachment.content_type, len(data))
