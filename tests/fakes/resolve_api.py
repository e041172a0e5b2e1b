"""A fake DaVinci Resolve for the Resolve bridge's tests: Resolve -> ProjectManager -> Project
-> MediaPool / Folder / MediaPoolItem / Timeline / TimelineItem, named as Blackmagic's
scripting README (18.5, 19.1, 20) documents them, recording every call in ``Resolve.calls``.

Documented calls covered: Resolve.GetVersion, GetProductName, GetProjectManager, Fusion,
EXPORT_OTIO; ProjectManager.GetCurrentProject; Project.GetName, GetMediaPool,
GetCurrentTimeline, SetCurrentTimeline, GetTimelineCount, GetTimelineByIndex;
MediaPool.GetRootFolder, AddSubFolder, GetCurrentFolder, SetCurrentFolder, ImportMedia
(the image-sequence dict form), AppendToTimeline (clip infos with trackIndex/recordFrame),
CreateTimelineFromClips; Folder.GetName, GetSubFolderList, GetClipList, GetUniqueId;
MediaPoolItem.GetName, GetMediaId, GetClipProperty; Timeline.GetName, GetUniqueId,
GetStartFrame, GetSetting, GetTrackCount, AddTrack, GetTrackName, SetTrackName,
GetItemListInTrack, GetCurrentVideoItem, GetMarkInOut, AddMarker, GetMarkers,
DeleteMarkerAtFrame, Export; TimelineItem.GetName, GetUniqueId, GetStart, GetEnd, GetDuration,
GetLeftOffset, GetMediaPoolItem, GetClipColor.

Behaviour stands in for what the README and known reports say: AppendToTimeline's
``recordFrame`` is absolute, its ``endFrame`` exclusive from 19 and inclusive before, an
overlapping item is dropped silently; one marker per frame; EXPORT_OTIO exists from 18.5 and
writes a Resolve-shaped OTIO (bare paths in target_url). Modes: ``lying`` names setters that
answer True and do nothing; ``studio=False`` is the free edition (no external scripting, no
scripted dialogs from 19.1).
"""

from __future__ import annotations

import itertools
from typing import Any

import opentimelineio as otio

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
_ids = itertools.count(1)


class _Obj:
    def __init__(self, resolve: Resolve) -> None:
        self._resolve = resolve
        self._id = f"id{next(_ids)}"

    def GetUniqueId(self) -> str:
        return self._id

    def _call(self, name: str, *args: Any) -> bool:
        """Record a call; False when the lying mode makes this setter a no-op."""
        self._resolve.calls.append((type(self).__name__, name, args))
        return name not in self._resolve.lying


class MediaPoolItem(_Obj):
    def __init__(self, resolve: Resolve, path: str, frames: int, name: str | None = None,
                 fps: float = 24.0) -> None:
        super().__init__(resolve)
        self.path, self.frames, self.fps = path, frames, fps
        self.name = name or path.rsplit("/", 1)[-1]

    def GetName(self) -> str:
        return self.name

    def GetMediaId(self) -> str:
        return self._id

    def GetClipProperty(self, name: str | None = None) -> Any:
        props = {"File Path": self.path, "Frames": str(self.frames), "FPS": str(self.fps)}
        return props if name is None else props.get(name, "")


class Folder(_Obj):
    def __init__(self, resolve: Resolve, name: str) -> None:
        super().__init__(resolve)
        self.name = name
        self.clips: list[MediaPoolItem] = []
        self.subfolders: list[Folder] = []

    def GetName(self) -> str:
        return self.name

    def GetClipList(self) -> list[MediaPoolItem]:
        return list(self.clips)

    def GetSubFolderList(self) -> list[Folder]:
        return list(self.subfolders)


class TimelineItem(_Obj):
    def __init__(self, resolve: Resolve, media: MediaPoolItem | None, start: int, duration: int,
                 left_offset: int, name: str | None = None, colour: str = "") -> None:
        super().__init__(resolve)
        self.media, self.start, self.duration, self.left_offset = media, start, duration, left_offset
        self.name = name or (media.name if media else "Title")
        self.colour = colour

    def GetName(self) -> str:
        return self.name

    def GetStart(self, subframe_precision: bool = False) -> int:
        return self.start

    def GetEnd(self, subframe_precision: bool = False) -> int:
        return self.start + self.duration

    def GetDuration(self, subframe_precision: bool = False) -> int:
        return self.duration

    def GetLeftOffset(self, subframe_precision: bool = False) -> int:
        return self.left_offset

    def GetMediaPoolItem(self) -> MediaPoolItem | None:
        return self.media

    def GetClipColor(self) -> str:
        return self.colour


class Timeline(_Obj):
    def __init__(self, resolve: Resolve, name: str, start_frame: int = 86400, rate: float = 24.0) -> None:
        super().__init__(resolve)
        self.name, self.start_frame, self.rate = name, start_frame, rate
        self.tracks: list[list[TimelineItem]] = [[]]
        self.track_names = ["Video 1"]
        self.markers: dict[float, dict[str, Any]] = {}
        self.current_item: TimelineItem | None = None
        self.mark_in_out: dict[str, Any] = {}

    # -- reading
    def GetName(self) -> str:
        return self.name

    def GetStartFrame(self) -> int:
        return self.start_frame

    def GetSetting(self, name: str) -> str:
        return {"timelineFrameRate": f"{self.rate:g}"}.get(name, "")

    def GetTrackCount(self, kind: str) -> int:
        return len(self.tracks) if kind == "video" else 0

    def GetItemListInTrack(self, kind: str, index: int) -> list[TimelineItem]:
        if kind != "video" or not 1 <= index <= len(self.tracks):
            return []
        return sorted(self.tracks[index - 1], key=lambda i: i.start)

    def GetCurrentVideoItem(self) -> TimelineItem | None:
        return self.current_item

    def GetMarkInOut(self) -> dict[str, Any]:
        return dict(self.mark_in_out)

    def GetTrackName(self, kind: str, index: int) -> str:
        return self.track_names[index - 1]

    def GetMarkers(self) -> dict[float, dict[str, Any]]:
        return {k: dict(v) for k, v in self.markers.items()}

    # -- writing
    def AddTrack(self, kind: str, options: Any = None) -> bool:
        if self._call("AddTrack", kind) and kind == "video":
            self.tracks.append([])
            self.track_names.append(f"Video {len(self.tracks)}")
        return True

    def SetTrackName(self, kind: str, index: int, name: str) -> bool:
        if self._call("SetTrackName", kind, index, name):
            self.track_names[index - 1] = name
        return True

    def AddMarker(self, frame: int, color: str, name: str, note: str, duration: int,
                  custom_data: str = "") -> bool:
        if float(frame) in self.markers:
            return False
        if self._call("AddMarker", frame, color, name, note, duration, custom_data):
            self.markers[float(frame)] = {"color": color, "duration": float(duration), "note": note,
                                          "name": name, "customData": custom_data}
        return True

    def DeleteMarkerAtFrame(self, frame: float) -> bool:
        if self._call("DeleteMarkerAtFrame", frame):
            self.markers.pop(float(frame), None)
        return True

    def Export(self, path: str, export_type: int, subtype: Any = None) -> bool:
        self._call("Export", path, export_type)
        if export_type != Resolve.EXPORT_OTIO_VALUE:
            return False
        otio.adapters.write_to_file(self.as_otio(), path)
        return True

    def place(self, item: TimelineItem, track: int) -> bool:
        """Put ``item`` on ``track`` unless it overlaps (Resolve drops it silently then)."""
        while len(self.tracks) < track:
            self.tracks.append([])
            self.track_names.append(f"Video {len(self.tracks)}")
        lane = self.tracks[track - 1]
        if any(i.start < item.start + item.duration and item.start < i.start + i.duration for i in lane):
            return False
        lane.append(item)
        return True

    def as_otio(self) -> otio.schema.Timeline:
        """The timeline as Resolve's OTIO export shapes it: tracks from 0, the start timecode
        as global_start_time, bare file paths, media ranges in media frames."""
        tl = otio.schema.Timeline(name=self.name, global_start_time=RT(self.start_frame, self.rate))
        for n, lane in enumerate(self.tracks, start=1):
            track = otio.schema.Track(name=self.track_names[n - 1], kind=otio.schema.TrackKind.Video)
            cursor = self.start_frame
            for item in sorted(lane, key=lambda i: i.start):
                assert item.media is not None, "titles are not exported in these tests"
                if item.start > cursor:
                    gap = TR(RT(0, self.rate), RT(item.start - cursor, self.rate))
                    track.append(otio.schema.Gap(source_range=gap))
                ref = otio.schema.ExternalReference(
                    target_url=item.media.path,
                    available_range=TR(RT(0, self.rate), RT(item.media.frames, self.rate)))
                track.append(otio.schema.Clip(name=item.name, media_reference=ref,
                                              source_range=TR(RT(item.left_offset, self.rate),
                                                              RT(item.duration, self.rate))))
                cursor = item.start + item.duration
            tl.tracks.append(track)
        return tl


class MediaPool(_Obj):
    def __init__(self, resolve: Resolve, project: Project) -> None:
        super().__init__(resolve)
        self.project = project
        self.root = Folder(resolve, "Master")
        self.current = self.root

    def GetRootFolder(self) -> Folder:
        return self.root

    def AddSubFolder(self, parent: Folder, name: str) -> Folder:
        folder = Folder(self._resolve, name)
        if self._call("AddSubFolder", parent, name):
            parent.subfolders.append(folder)
        return folder

    def GetCurrentFolder(self) -> Folder:
        return self.current

    def SetCurrentFolder(self, folder: Folder) -> bool:
        if self._call("SetCurrentFolder", folder):
            self.current = folder
        return True

    def ImportMedia(self, items: list[Any]) -> list[MediaPoolItem]:
        self._call("ImportMedia", items)
        made = []
        for info in items:
            if isinstance(info, dict):
                first, last = int(info["StartIndex"]), int(info["EndIndex"])
                item = MediaPoolItem(self._resolve, info["FilePath"], last - first + 1)
            else:
                item = MediaPoolItem(self._resolve, info, 1)
            made.append(item)
            if "ImportMedia" not in self._resolve.lying:
                self.current.clips.append(item)
        return made

    def _infos_to_items(self, infos: list[dict[str, Any]], exclusive: bool) -> list[TimelineItem]:
        items = []
        for info in infos:
            start, end = int(info["startFrame"]), int(info["endFrame"])
            duration = end - start if exclusive else end - start + 1
            items.append(TimelineItem(self._resolve, info["mediaPoolItem"], int(info.get("recordFrame", 0)),
                                      duration, start))
        return items

    def AppendToTimeline(self, infos: list[dict[str, Any]]) -> list[TimelineItem]:
        timeline = self.project.current
        assert timeline is not None, "AppendToTimeline needs a current timeline"
        items = self._infos_to_items(infos, self._resolve.version >= (19,))
        if not self._call("AppendToTimeline", infos):
            return items  # answered, never placed
        for item, info in zip(items, infos):
            timeline.place(item, int(info.get("trackIndex", 1)))
        return items

    def CreateTimelineFromClips(self, name: str, infos: list[dict[str, Any]]) -> Timeline | None:
        self._call("CreateTimelineFromClips", name, infos)
        if any(t.name == name for t in self.project.timelines):
            return None
        timeline = Timeline(self._resolve, name)
        cursor = timeline.start_frame
        for item in self._infos_to_items(infos, self._resolve.version >= (19,)):
            item.start = cursor
            timeline.place(item, 1)
            cursor += item.duration
        self.project.timelines.append(timeline)
        self.project.current = timeline  # the new timeline becomes current, as in Resolve
        return timeline


class Project(_Obj):
    def __init__(self, resolve: Resolve, name: str) -> None:
        super().__init__(resolve)
        self.name = name
        self.timelines: list[Timeline] = []
        self.current: Timeline | None = None
        self.media_pool = MediaPool(resolve, self)

    def GetName(self) -> str:
        return self.name

    def GetMediaPool(self) -> MediaPool:
        return self.media_pool

    def GetCurrentTimeline(self) -> Timeline | None:
        return self.current

    def SetCurrentTimeline(self, timeline: Timeline) -> bool:
        if self._call("SetCurrentTimeline", timeline):
            self.current = timeline
        return True

    def GetTimelineCount(self) -> int:
        return len(self.timelines)

    def GetTimelineByIndex(self, index: int) -> Timeline | None:
        return self.timelines[index - 1] if 1 <= index <= len(self.timelines) else None


class ProjectManager(_Obj):
    def __init__(self, resolve: Resolve, project: Project | None) -> None:
        super().__init__(resolve)
        self.project = project

    def GetCurrentProject(self) -> Project | None:
        return self.project


class Resolve:
    EXPORT_OTIO_VALUE = 37

    def __init__(self, version: tuple[int, ...] = (19, 1, 0), studio: bool = True,
                 lying: tuple[str, ...] = ()) -> None:
        self.version, self.studio, self.lying = version, studio, set(lying)
        self.calls: list[tuple[str, str, tuple[Any, ...]]] = []
        self.project = Project(self, "Moviola test")
        self.manager = ProjectManager(self, self.project)
        # The real object answers any attribute; the value is what counts.
        self.EXPORT_OTIO: int | None = self.EXPORT_OTIO_VALUE if version >= (18, 5) else None

    def GetVersion(self) -> list[Any]:
        return [*self.version, 0, ""][:5]

    def GetProductName(self) -> str:
        return "DaVinci Resolve Studio" if self.studio else "DaVinci Resolve"

    def GetProjectManager(self) -> ProjectManager:
        return self.manager

    def Fusion(self) -> None:
        return None  # no scripted dialogs in tests

    # -- test set-up helpers (not Resolve API)
    def new_timeline(self, name: str = "Edit", start_frame: int = 86400, rate: float = 24.0) -> Timeline:
        timeline = Timeline(self, name, start_frame, rate)
        self.project.timelines.append(timeline)
        self.project.current = timeline
        return timeline
