"""A stand-in for ``hiero.core``: the calls the Nuke bridge makes to build a sequence or tags.

Covered, following the Hiero Python API and its use in OTIO's Hiero plug-in:
``projects()``, ``newProject()``, ``Project.clipsBin()``, ``Project.sequences()``,
``Bin.addItem(BinItem)``, ``Bin.items()``, ``BinItem(obj)``, ``BinItem.activeItem()``,
``Sequence(name)``, ``Sequence.addTrack``, ``videoTracks()``, ``setFramerate``, ``framerate``,
``VideoTrack(name)``, ``createTrackItem(name)``, ``addTrackItem(item)``, ``items()``,
``MediaSource(path)`` (sequences with ``#`` padding), ``Clip(media)``,
``TrackItem.setSource(clip)``, ``setTimes(timelineIn, timelineOut, sourceIn, sourceOut)``
(outs inclusive), ``timelineIn/Out``, ``sourceIn/Out``, ``addTag``, ``tags``,
``Tag(name)``, ``Tag.setNote``, ``Tag.metadata().setValue("tag.<key>", str)``,
``Sequence.addTagToRange(tag, start, end)``. It records what was built; it opens no media.
"""

from __future__ import annotations

from typing import Any

_projects: list = []


class DataCollection:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def setValue(self, key: str, value: str) -> None:
        if not key.startswith("tag."):
            raise KeyError("tag metadata keys take a 'tag.' prefix")
        self.values[key] = str(value)

    def value(self, key: str) -> str:
        return self.values[key]


class Tag:
    def __init__(self, name: str) -> None:
        self._name, self._note, self._meta = name, "", DataCollection()

    def name(self) -> str:
        return self._name

    def setNote(self, note: str) -> None:
        self._note = note

    def note(self) -> str:
        return self._note

    def metadata(self) -> DataCollection:
        return self._meta


class MediaSource:
    def __init__(self, path: str) -> None:
        self._path = path

    def fileinfos(self) -> list:
        return [self]

    def filename(self) -> str:
        return self._path


class Clip:
    def __init__(self, media: MediaSource) -> None:
        if not isinstance(media, MediaSource):
            raise TypeError("Clip takes a MediaSource")
        self._media = media
        self._name = media.filename().rsplit("/", 1)[-1]

    def mediaSource(self) -> MediaSource:
        return self._media

    def name(self) -> str:
        return self._name

    def setName(self, name: str) -> None:
        self._name = name


class TrackItem:
    def __init__(self, name: str) -> None:
        self._name = name
        self._source: Clip | None = None
        self._times = (0, -1, 0, -1)
        self._tags: list[Tag] = []

    def name(self) -> str:
        return self._name

    def setSource(self, clip: Clip) -> None:
        self._source = clip

    def source(self) -> Clip | None:
        return self._source

    def setTimes(self, timelineIn: int, timelineOut: int, sourceIn: int, sourceOut: int) -> None:
        if timelineOut - timelineIn != sourceOut - sourceIn:
            raise ValueError("timeline and source durations differ")
        self._times = (int(timelineIn), int(timelineOut), int(sourceIn), int(sourceOut))

    def timelineIn(self) -> int:
        return self._times[0]

    def timelineOut(self) -> int:
        return self._times[1]

    def sourceIn(self) -> int:
        return self._times[2]

    def sourceOut(self) -> int:
        return self._times[3]

    def addTag(self, tag: Tag) -> None:
        self._tags.append(tag)

    def tags(self) -> list[Tag]:
        return list(self._tags)


class VideoTrack:
    def __init__(self, name: str) -> None:
        self._name = name
        self._items: list[TrackItem] = []
        self._created: list[TrackItem] = []

    def name(self) -> str:
        return self._name

    def createTrackItem(self, name: str) -> TrackItem:
        item = TrackItem(name)
        self._created.append(item)
        return item

    def addTrackItem(self, item: TrackItem) -> None:
        if item not in self._created:
            raise ValueError("a track item must come from this track's createTrackItem")
        if item.source() is None:
            raise ValueError("a track item needs a source before it is added")
        self._items.append(item)

    def items(self) -> list[TrackItem]:
        return list(self._items)


class Sequence:
    def __init__(self, name: str) -> None:
        self._name = name
        self._tracks: list[VideoTrack] = []
        self._rate: Any = None
        self.range_tags: list[tuple[Tag, int, int]] = []

    def name(self) -> str:
        return self._name

    def addTrack(self, track: VideoTrack) -> None:
        self._tracks.append(track)

    def videoTracks(self) -> list[VideoTrack]:
        return list(self._tracks)

    def setFramerate(self, rate: Any) -> None:
        self._rate = rate

    def framerate(self) -> Any:
        return self._rate

    def addTagToRange(self, tag: Tag, start: int, end: int) -> None:
        self.range_tags.append((tag, int(start), int(end)))


class BinItem:
    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def activeItem(self) -> Any:
        return self._obj


class Bin:
    def __init__(self, name: str = "Sequences") -> None:
        self._name = name
        self._items: list = []

    def addItem(self, item: Any) -> None:
        self._items.append(item)

    def items(self) -> list:
        return list(self._items)


class Project:
    def __init__(self, name: str = "Untitled") -> None:
        self._name = name
        self._bin = Bin()

    def name(self) -> str:
        return self._name

    def clipsBin(self) -> Bin:
        return self._bin

    def sequences(self) -> list[Sequence]:
        return [i.activeItem() for i in self._bin.items()
                if isinstance(i, BinItem) and isinstance(i.activeItem(), Sequence)]


def projects() -> list[Project]:
    return list(_projects)


def newProject(name: str = "Untitled") -> Project:
    project = Project(name)
    _projects.append(project)
    return project


def _reset() -> None:
    """Not Hiero's: no open projects."""
    _projects.clear()
