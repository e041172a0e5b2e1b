"""Typed errors shared by the engine and every client.

One root, :class:`MoviolaError`, carries a wire ``code``, a message that names the problem and,
where there is one, the ``path`` involved. Subclasses also inherit the builtin they resemble
(``FileNotFoundError``, ``TimeoutError``, ``ValueError``...) so host code can catch either.
:data:`ERRORS_BY_CODE` is the one table that maps wire codes to classes: the engine sends
``error.code``, the client raises the matching class.
"""

from __future__ import annotations

from typing import Any, Optional


class MoviolaError(Exception):
    """Root of every Moviola error."""

    code = "internal"

    def __init__(self, message: str, *, path: Optional[str] = None,
                 detail: Optional[dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.detail = dict(detail or {})

    def __str__(self) -> str:
        return f"{self.message} ({self.path})" if self.path else self.message

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.path is not None:
            body["path"] = self.path
        if self.detail:
            body["detail"] = self.detail
        return body


# --- protocol: the request itself is wrong -------------------------------------------------

class ProtocolError(MoviolaError, ValueError):
    """A message could not be decoded (not msgpack, not a map, bad frames)."""
    code = "bad_message"


class MessageTooLargeError(ProtocolError):
    """A message is larger than the engine accepts."""
    code = "message_too_large"


class VersionMismatchError(ProtocolError):
    """Client and engine speak incompatible major protocol versions."""
    code = "unsupported_version"


class AuthenticationError(MoviolaError, PermissionError):
    """The request's token is missing or wrong."""
    code = "unauthorized"


class UnknownMessageTypeError(ProtocolError):
    """The message type is not one the engine knows."""
    code = "unknown_type"


class InvalidRequestError(ProtocolError):
    """A required field is missing or has the wrong type."""
    code = "invalid_field"


class TooManyRequestsError(MoviolaError):
    """A bound on what one client may hold in the engine was reached (e.g. watchers of a job)."""
    code = "too_many_requests"


# --- jobs ------------------------------------------------------------------------------------

class UnknownJobKindError(MoviolaError, KeyError):
    """No job kind of that name is registered."""
    code = "unknown_job_kind"

    def __str__(self) -> str:  # KeyError would quote the message
        return MoviolaError.__str__(self)


class InvalidParamsError(MoviolaError, ValueError):
    """A job's parameters failed validation; nothing ran."""
    code = "invalid_params"


class UnknownJobError(MoviolaError, KeyError):
    """No job with that id is known to the engine."""
    code = "unknown_job"

    def __str__(self) -> str:
        return MoviolaError.__str__(self)


class JobFailedError(MoviolaError, RuntimeError):
    """A job started and failed."""
    code = "job_failed"


class NothingProducedError(JobFailedError):
    """A job ran and produced nothing (no video clips, every clip failed, nothing in the
    range); ``detail["reason"]`` says which, and no result was written."""
    code = "nothing_produced"


class JobCancelledError(MoviolaError):
    """A job was cancelled before it finished."""
    code = "cancelled"


# --- media and files -------------------------------------------------------------------------

class MediaNotFoundError(MoviolaError, FileNotFoundError):
    """A media file, sequence or timeline does not exist."""
    code = "media_not_found"


class MediaDecodeError(MoviolaError, ValueError):
    """A file exists but cannot be read as media or as a timeline."""
    code = "media_unreadable"


class FrameRangeError(MoviolaError, IndexError):
    """A frame or range lies outside the media."""
    code = "frame_out_of_range"


class OutputPathError(MoviolaError, PermissionError):
    """A write would land outside the output folder, or the folder is unusable."""
    code = "output_not_allowed"


class DiskFullError(MoviolaError, OSError):
    """An output could not be written: no space left (or quota exceeded) on its disk."""
    code = "disk_full"


class OutputWriteError(MoviolaError, OSError):
    """An output could not be written: an I/O error, a file size limit, or the codec failed."""
    code = "output_write_failed"


# --- engine state and reachability -----------------------------------------------------------

class EngineShuttingDownError(MoviolaError):
    """The engine is stopping and takes no new work."""
    code = "shutting_down"


class InternalEngineError(MoviolaError, RuntimeError):
    """A bug in the engine; the request failed but the engine keeps serving."""
    code = "internal"


class EngineNotRunningError(MoviolaError, ConnectionError):
    """No engine answers at the discovered endpoint (client side only)."""
    code = "engine_unreachable"


class EngineTimeoutError(MoviolaError, TimeoutError):
    """The engine did not answer in time (client side only)."""
    code = "timeout"


ERRORS_BY_CODE: dict[str, type[MoviolaError]] = {
    cls.code: cls
    for cls in (
        MoviolaError, ProtocolError, MessageTooLargeError, VersionMismatchError,
        AuthenticationError, UnknownMessageTypeError, InvalidRequestError, TooManyRequestsError,
        UnknownJobKindError, InvalidParamsError, UnknownJobError, JobFailedError,
        NothingProducedError, JobCancelledError, MediaNotFoundError, MediaDecodeError, FrameRangeError,
        OutputPathError, DiskFullError, OutputWriteError, EngineShuttingDownError, InternalEngineError,
        EngineNotRunningError, EngineTimeoutError,
    )
}


def error_from_wire(body: dict[str, Any]) -> MoviolaError:
    """Rebuild the typed error an engine sent; unknown codes become :class:`MoviolaError`."""
    code = str(body.get("code", "internal"))
    cls = ERRORS_BY_CODE.get(code, MoviolaError)
    err = cls(str(body.get("message", code)), path=body.get("path"), detail=body.get("detail"))
    if cls is MoviolaError:
        err.code = code
    return err
