"""A stand-in for Nuke's ``nuke`` module, following its documented Python API name for name.

It stands in for a running Nuke GUI session so the Nuke bridge can be tested without Nuke,
and it records what the bridge did. Covered (Nuke 14-16 Python reference):

- nodes: ``createNode(nodeClass, knobs="", inpanel=True)``, ``toNode(name)``,
  ``selectedNode()`` (ValueError without a selection), ``selectedNodes()``,
  ``allNodes(filter=None)``, ``root()``, ``delete(node)``; ``Node.Class()``, ``name()``,
  ``knobs()``, ``node[name]``, ``addKnob``, ``removeKnob``, ``setInput(i, node)``, ``input(i)``,
  ``inputs()``, ``setSelected``, ``isSelected``, ``xpos``/``ypos``/``setXYpos``, ``format()``;
- knobs: ``Knob.value()``, ``getValue()``, ``setValue()``, ``name()``, ``label()``,
  ``setFlag``; ``File_Knob.fromUserText``; ``String_Knob``, ``Multiline_Eval_String_Knob``,
  ``Tab_Knob``, ``Int_Knob``, ``Double_Knob``, ``Boolean_Knob``, ``Text_Knob``,
  ``PyScript_Knob``; flags ``INVISIBLE``, ``DO_NOT_WRITE``, ``READ_ONLY``;
- ``Format`` (``width()``, ``height()``, ``name()``, ``pixelAspect()``) as the value of a
  ``format`` knob;
- threads: ``executeInMainThread(call, args=(), kwargs={})``, which queues (the fake refuses a
  call from the main thread, where Nuke hangs) and ``executeInMainThreadWithResult``;
- ``ProgressTask(title)``: ``setMessage``, ``setProgress`` (0-100), ``isCancelled``;
- rendering: ``nodes.<Class>()`` (a node not wired to the selection), ``execute(nameOrNode,
  start=None, end=None, incr=None, views=None, continueOnError=False)`` on a Write, which
  writes real image files (OpenImageIO, imported when called) and raises RuntimeError when
  the render fails, as Nuke does; ``Node.channels()``; ``frame()`` (the current frame);
- UI: ``menu(name)`` → ``Menu.addMenu``, ``addCommand``, ``addSeparator``, ``findItem``,
  ``items``; ``message``; ``getInput(prompt, default)``; ``pluginAddPath(path,
  addToSysPath=True)``, ``pluginPath()``; ``GUI``.

Read nodes carry the documented knobs (``file``, ``format``, ``proxy``, ``proxy_format``,
``first``, ``last``, ``origfirst``, ``origlast``, ``before``, ``after``, ``frame_mode``,
``frame``, ``colorspace``, ``raw``, ``on_error``); Copy nodes ``from0..3``/``to0..3``
(default ``rgba.alpha``); Write nodes ``file``, ``proxy``, ``file_type``, ``channels`` (default
``rgb``), ``raw``, ``frame_mode``, ``frame``, ``colorspace``; Reformat nodes ``format``,
``resize``, ``center``; the root ``proxy``, ``proxy_scale``, ``first_frame``, ``last_frame``, ``format``.

Helpers that are not Nuke's start with an underscore: ``_reset()``, ``_pump_main_thread()``,
``_set_image(node, image_at)`` (what a node renders: ``image_at(frame)`` gives an HxW alpha or an
HxWx4 RGBA float array, or raises RuntimeError as a node in error does).
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable

GUI = True
INVISIBLE = 0x400
DO_NOT_WRITE = 0x200
READ_ONLY = 0x10000000
MAIN_THREAD = threading.main_thread()


class Format:
    def __init__(self, width: int, height: int, name: str = "", pixel_aspect: float = 1.0) -> None:
        self._w, self._h, self._name, self._pa = int(width), int(height), name, pixel_aspect

    def width(self) -> int:
        return self._w

    def height(self) -> int:
        return self._h

    def name(self) -> str:
        return self._name

    def pixelAspect(self) -> float:
        return self._pa


class Knob:
    def __init__(self, name: str, label: str | None = None, value: Any = None) -> None:
        self._name = name
        self._label = label if label is not None else name
        self._value = value
        self._flags = 0
        self.node: Node | None = None

    def name(self) -> str:
        return self._name

    def label(self) -> str:
        return self._label

    def value(self) -> Any:
        return self._value

    def getValue(self) -> Any:
        return self._value

    def setValue(self, value: Any) -> bool:
        self._value = value
        return True

    def setFlag(self, flag: int) -> None:
        self._flags |= flag

    def getFlag(self, flag: int) -> bool:
        return bool(self._flags & flag)


class String_Knob(Knob):
    def __init__(self, name: str, label: str | None = None, value: str = "") -> None:
        super().__init__(name, label, value)


class Multiline_Eval_String_Knob(String_Knob):
    pass


class Text_Knob(String_Knob):
    pass


class Tab_Knob(Knob):
    pass


class Int_Knob(Knob):
    def __init__(self, name: str, label: str | None = None, value: int = 0) -> None:
        super().__init__(name, label, int(value))

    def setValue(self, value: Any) -> bool:
        self._value = int(value)
        return True


class Double_Knob(Knob):
    def __init__(self, name: str, label: str | None = None, value: float = 0.0) -> None:
        super().__init__(name, label, float(value))


class Boolean_Knob(Knob):
    def __init__(self, name: str, label: str | None = None, value: bool = False) -> None:
        super().__init__(name, label, bool(value))


class PyScript_Knob(Knob):
    def __init__(self, name: str, label: str | None = None, command: str = "") -> None:
        super().__init__(name, label, command)


class Enumeration_Knob(Knob):
    pass


class Format_Knob(Knob):
    def setValue(self, value: Any) -> bool:
        if isinstance(value, str):
            width, height = (int(v) for v in value.split()[:2])
            value = Format(width, height)
        self._value = value
        return True


class File_Knob(Knob):
    def fromUserText(self, text: str) -> None:
        """``/p/plate.####.exr 1001-1100`` sets the path and the Read's range knobs."""
        path, _, frames = text.strip().partition(" ")
        self._value = path
        if frames and self.node is not None:
            first, _, last = frames.partition("-")
            for name, value in (("first", first), ("origfirst", first), ("last", last or first),
                                ("origlast", last or first)):
                self.node[name].setValue(int(value))


# --- nodes -----------------------------------------------------------------------------------

_DEFAULT_KNOBS: dict[str, Callable[[], list[Knob]]] = {
    "Read": lambda: [File_Knob("file", "file", ""), Format_Knob("format", "format", Format(2048, 1556)),
                     File_Knob("proxy", "proxy", ""), Format_Knob("proxy_format", "proxy format", None),
                     Int_Knob("first", "frame range", 1), Int_Knob("last", "", 1),
                     Int_Knob("origfirst", "original range", 1), Int_Knob("origlast", "", 1),
                     Enumeration_Knob("before", "before", "hold"), Enumeration_Knob("after", "after", "hold"),
                     Enumeration_Knob("frame_mode", "frame", "expression"), String_Knob("frame", "", ""),
                     Enumeration_Knob("colorspace", "colorspace", "default"),
                     Boolean_Knob("raw", "raw data", False),
                     Enumeration_Knob("on_error", "missing frames", "error")],
    "Copy": lambda: [Knob(f"{d}{i}", f"{d}{i}", "rgba.alpha" if i == 0 else "none")
                     for i in range(4) for d in ("from", "to")],
    "Write": lambda: [File_Knob("file", "file", ""), File_Knob("proxy", "proxy", ""),
                      Enumeration_Knob("file_type", "file type", ""),
                      Enumeration_Knob("channels", "channels", "rgb"),
                      Boolean_Knob("raw", "raw data", False),
                      Enumeration_Knob("frame_mode", "frame", "expression"), String_Knob("frame", "", ""),
                      Enumeration_Knob("colorspace", "colorspace", "default")],
    "Reformat": lambda: [Format_Knob("format", "output format", Format(2048, 1556)),
                         Enumeration_Knob("resize", "resize type", "width"),
                         Boolean_Knob("center", "center", True)],
    "Root": lambda: [Boolean_Knob("proxy", "proxy mode", False),
                     Double_Knob("proxy_scale", "proxy scale", 0.5),
                     Int_Knob("first_frame", "frame range", 1), Int_Knob("last_frame", "", 100),
                     Format_Knob("format", "full size format", Format(2048, 1556))],
}


class Node:
    def __init__(self, node_class: str, name: str) -> None:
        self._class = node_class
        self._knobs: dict[str, Knob] = {}
        self._inputs: dict[int, Node | None] = {}
        self._selected = False
        self._xy = [0, 0]
        self._image_at: Callable[[int], Any] | None = None
        self.addKnob(String_Knob("name", "name", name))
        self.addKnob(String_Knob("label", "label", ""))
        for knob in _DEFAULT_KNOBS.get(node_class, lambda: [])():
            self.addKnob(knob)

    def Class(self) -> str:
        return self._class

    def name(self) -> str:
        return str(self._knobs["name"].value())

    def fullName(self) -> str:
        return self.name()

    def knobs(self) -> dict[str, Knob]:
        return dict(self._knobs)

    def knob(self, name: str) -> Knob | None:
        return self._knobs.get(name)

    def __getitem__(self, name: str) -> Knob:
        return self._knobs[name]

    def addKnob(self, knob: Knob) -> None:
        knob.node = self
        self._knobs[knob.name()] = knob

    def removeKnob(self, knob: Knob) -> None:
        self._knobs.pop(knob.name(), None)

    def setInput(self, index: int, node: Node | None) -> bool:
        self._inputs[index] = node
        return True

    def input(self, index: int) -> Node | None:
        return self._inputs.get(index)

    def inputs(self) -> int:
        return max((i + 1 for i, n in self._inputs.items() if n is not None), default=0)

    def dependent(self) -> list[Node]:
        return [n for n in _nodes if any(i is self for i in n._inputs.values())]

    def setSelected(self, selected: bool) -> None:
        self._selected = bool(selected)

    def isSelected(self) -> bool:
        return self._selected

    def xpos(self) -> int:
        return self._xy[0]

    def ypos(self) -> int:
        return self._xy[1]

    def setXYpos(self, x: int, y: int) -> None:
        self._xy = [int(x), int(y)]

    def setXpos(self, x: int) -> None:
        self._xy[0] = int(x)

    def setYpos(self, y: int) -> None:
        self._xy[1] = int(y)

    def screenHeight(self) -> int:
        return 18

    def format(self) -> Format:
        knob = self._knobs.get("format")
        if knob is not None and knob.value() is not None:
            return knob.value()
        upstream = self.input(0)
        return upstream.format() if upstream is not None else root()["format"].value()

    def channels(self) -> list[str]:
        """What the node outputs: rgb from a Read; alpha where ``_set_image`` gave one."""
        out = ["rgba.red", "rgba.green", "rgba.blue"] if self._class == "Read" else []
        if self._image_at is not None:
            out = ["rgba.red", "rgba.green", "rgba.blue", "rgba.alpha"]
        elif self.input(0) is not None:
            out = self.input(0).channels()
        return out

    def __repr__(self) -> str:
        return f"<{self._class} {self.name()}>"


_nodes: list[Node] = []
_root: Node | None = None
_frame = 1
_main_queue: list[tuple[Callable, tuple, dict]] = []
_queue_lock = threading.Lock()
calls: list[tuple[str, Any]] = []        # what the bridge asked of Nuke, in order
messages: list[str] = []
plugin_paths: list[str] = []
_menus: dict[str, Menu] = {}


def root() -> Node:
    global _root
    if _root is None:
        _root = Node("Root", "root")
    return _root


def _unique_name(node_class: str) -> str:
    taken = {n.name() for n in _nodes}
    i = 1
    while f"{node_class}{i}" in taken:
        i += 1
    return f"{node_class}{i}"


def createNode(nodeClass: str, knobs: str = "", inpanel: bool = True) -> Node:
    """Like Nuke: the new node takes the selected node as input 0 and becomes the selection."""
    _refuse_off_main_thread("createNode")
    node = Node(nodeClass, _unique_name(nodeClass))
    selected = [n for n in _nodes if n.isSelected()]
    if selected:
        node.setInput(0, selected[-1])
    for n in _nodes:
        n.setSelected(False)
    node.setSelected(True)
    _nodes.append(node)
    calls.append(("createNode", nodeClass))
    return node


class _Nodes:
    """``nuke.nodes.Write(...)``: a node made without touching the selection."""

    def __getattr__(self, node_class: str) -> Callable[..., Node]:
        def make(**knobs: Any) -> Node:
            _refuse_off_main_thread(f"nodes.{node_class}")
            node = Node(node_class, _unique_name(node_class))
            for i, upstream in enumerate(knobs.pop("inputs", [])):
                node.setInput(i, upstream)
            for name, value in knobs.items():
                node[name].setValue(value)
            _nodes.append(node)
            calls.append(("nodes", node_class))
            return node
        return make


nodes = _Nodes()


def frame(f: int | None = None) -> int:
    """The current frame; ``frame(f)`` moves to ``f``."""
    global _frame
    if f is not None:
        _frame = int(f)
    return _frame


def _set_image(node: Node, image_at: Callable[[int], Any]) -> None:
    node._image_at = image_at


def _image_of(node: Node | None, at: int) -> Any:
    while node is not None and node._image_at is None:
        node = node.input(0)
    if node is None:
        raise RuntimeError("nothing is connected to render")
    return node._image_at(at)


def execute(nameOrNode: Any, start: int | None = None, end: int | None = None, incr: int | None = None,
            views: Any = None, continueOnError: bool = False) -> None:
    """Render a Write's input over start..end into its ``file`` (``%04d``/``####`` expanded)."""
    import re

    import numpy as np
    import OpenImageIO as oiio

    _refuse_off_main_thread("execute")
    write = toNode(nameOrNode) if isinstance(nameOrNode, str) else nameOrNode
    if write is None or write.Class() != "Write":
        raise ValueError(f"{nameOrNode!r} is not a Write node")
    first = root()["first_frame"].value() if start is None else int(start)
    last = root()["last_frame"].value() if end is None else int(end)
    calls.append(("execute", (write.name(), first, last)))
    pattern = re.sub(r"#+", lambda m: f"%0{len(m.group())}d", str(write["file"].value()))
    for at in range(first, last + 1, int(incr or 1)):
        image = np.asarray(_image_of(write.input(0), at), np.float32)
        if image.ndim == 2:
            image = np.dstack([np.zeros_like(image)] * 3 + [image])
        names = {"alpha": ("A",), "rgba": ("R", "G", "B", "A"), "rgb": ("R", "G", "B")}
        wanted = names[str(write["channels"].value())]
        pixels = np.ascontiguousarray(image[..., [("R", "G", "B", "A").index(c) for c in wanted]])
        path = pattern % at if "%" in pattern else pattern
        spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], len(wanted), "half")
        spec.channelnames = wanted
        out = oiio.ImageOutput.create(path)
        if out is None or not out.open(path, spec):
            raise RuntimeError(f"{write.name()}: cannot write {path}")
        out.write_image(pixels)
        out.close()


def delete(node: Node) -> None:
    _nodes.remove(node)
    for n in _nodes:
        for i, inp in list(n._inputs.items()):
            if inp is node:
                n._inputs[i] = None


def toNode(name: str) -> Node | None:
    return next((n for n in _nodes if n.name() == name), None)


def selectedNode() -> Node:
    selected = [n for n in _nodes if n.isSelected()]
    if not selected:
        raise ValueError("no node selected")
    return selected[-1]


def selectedNodes(filter: str | None = None) -> list[Node]:
    return [n for n in _nodes if n.isSelected() and (filter is None or n.Class() == filter)]


def allNodes(filter: str | None = None) -> list[Node]:
    return [n for n in _nodes if filter is None or n.Class() == filter]


def message(text: str) -> None:
    messages.append(text)


answers: list[str | None] = []          # what the artist types into getInput, in order


def getInput(prompt: str, default: str = "") -> str | None:
    """The artist's answer (``answers``, first in first out); the default when none is queued;
    None is Cancel."""
    calls.append(("getInput", prompt))
    return answers.pop(0) if answers else default


def _refuse_off_main_thread(what: str) -> None:
    # Nuke's node graph may only be edited on the main thread.
    if threading.current_thread() is not MAIN_THREAD:
        raise RuntimeError(f"{what} called off the main thread")


# --- threads and progress --------------------------------------------------------------------

def executeInMainThread(call: Callable, args: Any = (), kwargs: dict | None = None) -> None:
    if threading.current_thread() is MAIN_THREAD:
        raise RuntimeError("executeInMainThread from the main thread hangs Nuke")
    if not isinstance(args, tuple):
        args = (args,)
    with _queue_lock:
        _main_queue.append((call, args, dict(kwargs or {})))
    calls.append(("executeInMainThread", getattr(call, "__name__", repr(call))))


def executeInMainThreadWithResult(call: Callable, args: Any = (), kwargs: dict | None = None) -> Any:
    if threading.current_thread() is MAIN_THREAD:
        raise RuntimeError("executeInMainThreadWithResult from the main thread hangs Nuke")
    done = threading.Event()
    box: list[Any] = [None]

    def run(*a: Any, **k: Any) -> None:
        try:
            box[0] = call(*a, **k)
        finally:
            done.set()
    executeInMainThread(run, args, kwargs)
    done.wait()
    return box[0]


def _pump_main_thread() -> int:
    """Run what worker threads queued, on the calling (main) thread; returns how many."""
    count = 0
    while True:
        with _queue_lock:
            if not _main_queue:
                return count
            call, args, kwargs = _main_queue.pop(0)
        call(*args, **kwargs)
        count += 1


class ProgressTask:
    instances: list[ProgressTask] = []

    def __init__(self, title: str) -> None:
        self.title = title
        self.messages: list[str] = []
        self.progress: list[int] = []
        self._cancelled = False
        self.thread = threading.current_thread()
        ProgressTask.instances.append(self)

    def setMessage(self, text: str) -> None:
        self.messages.append(text)

    def setProgress(self, value: int) -> None:
        if not isinstance(value, int) or not 0 <= value <= 100:
            raise ValueError(f"progress must be an int 0..100, not {value!r}")
        self.progress.append(value)

    def isCancelled(self) -> bool:
        return self._cancelled

    def _cancel(self) -> None:
        """What the artist's click on the task's cancel button does."""
        self._cancelled = True


# --- menus and paths -------------------------------------------------------------------------

class MenuItem:
    def __init__(self, name: str, command: Any = None, shortcut: str = "", icon: str = "") -> None:
        self._name, self.command, self.shortcut, self.icon = name, command, shortcut, icon

    def name(self) -> str:
        return self._name

    def script(self) -> Any:
        return self.command

    def invoke(self) -> Any:
        return self.command() if callable(self.command) else exec(self.command, {})


class Menu(MenuItem):
    def __init__(self, name: str, icon: str = "") -> None:
        super().__init__(name, icon=icon)
        self._items: list[MenuItem] = []

    def addMenu(self, name: str, icon: str = "", **kwargs: Any) -> Menu:
        found = self.findItem(name)
        if isinstance(found, Menu):
            return found
        menu = Menu(name, icon)
        self._items.append(menu)
        return menu

    def addCommand(self, name: str, command: Any = None, shortcut: str = "", icon: str = "",
                   **kwargs: Any) -> MenuItem:
        head, _, rest = name.partition("/")
        if rest:
            return self.addMenu(head).addCommand(rest, command, shortcut, icon)
        item = MenuItem(name, command, shortcut, icon)
        self._items = [i for i in self._items if i.name() != name] + [item]
        return item

    def addSeparator(self, **kwargs: Any) -> None:
        self._items.append(MenuItem("", None))

    def findItem(self, name: str) -> MenuItem | None:
        head, _, rest = name.partition("/")
        item = next((i for i in self._items if i.name() == head), None)
        if rest:
            return item.findItem(rest) if isinstance(item, Menu) else None
        return item

    def items(self) -> list[MenuItem]:
        return list(self._items)


def menu(name: str) -> Menu:
    """"Nuke" (the menu bar), "Nodes" (the toolbar), "Pane", ..."""
    return _menus.setdefault(name, Menu(name))


def pluginAddPath(path: str, addToSysPath: bool = True) -> None:
    if path in plugin_paths:
        plugin_paths.remove(path)
    plugin_paths.insert(0, path)
    if addToSysPath and path not in sys.path:
        sys.path.insert(0, path)


def pluginPath() -> list[str]:
    return list(plugin_paths)


def _reset() -> None:
    """A fresh script: no nodes, no menus, no queued calls, a default root."""
    global _root, _frame
    _nodes.clear()
    _root = None
    _frame = 1
    _main_queue.clear()
    calls.clear()
    messages.clear()
    answers.clear()
    _menus.clear()
    ProgressTask.instances.clear()
