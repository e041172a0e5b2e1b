"""TensorRT engines for every neural backend: export to ONNX, build once, cache on disk, run.

SAM 2's image encoder (:mod:`..matte.tensorrt`) and Depth Anything V2
(:mod:`..depth.anything_v2`) both go through :class:`EngineCache`:

1. ``exporter`` writes the torch module as ONNX (:func:`export_onnx`, on the model's device
   and in the precision asked for);
2. ``builder`` turns the ONNX file into a serialised engine (:class:`TrtBuilder`);
3. ``runtime`` runs the engine on CUDA tensors (:class:`TrtRuntime`).

Each step is replaceable, so the path is tested where TensorRT cannot be installed.

**Precision comes from the graph.** TensorRT 11 removed weak typing: ``BuilderFlag.FP16`` and
``BF16`` are gone and every network is strongly typed, so an engine runs in the types its ONNX
graph holds. The module is therefore exported in the precision asked for (a float16 module
gives a float16 graph), and the network is created strongly typed on TensorRT 10 as well
(``NetworkDefinitionCreationFlag.STRONGLY_TYPED``, accepted and ignored by 11). One build path,
the same numbers on both versions.

**The cache** lives under ``<moviola home>/cache/tensorrt/<model>/``. An engine is valid only
for the model, its export version, the weights' SHA-256, the GPU (name *and* compute
capability), the precision, the input shape range and the TensorRT version; all of them make
its key (:meth:`EngineSpec.record`). Beside each ``<key>.engine`` lies ``<key>.json``: that
record plus the engine file's SHA-256. An engine is loaded only when its record matches what
is asked for and its bytes match the hash; a stale, foreign, damaged or unreadable engine is
rebuilt, never loaded.

STATUS: the real builder and runtime are UNVERIFIED: no GPU or TensorRT was available when
they were written (against the TensorRT 10 and 11 Python API documentation); the tests run
this module with a replaced builder and runtime, and export the real ONNX graphs on CPU.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..media.identity import cache_key
from ..media.outputs import AtomicPath
from .store import sha256_of

__all__ = ["ShapeRange", "EngineSpec", "Target", "EngineBuilder", "EngineRuntime", "TrtBuilder",
           "TrtRuntime", "EngineCache", "available", "current_target", "export_onnx",
           "default_root", "describe", "precision_name", "OPSET"]

log = logging.getLogger(__name__)

OPSET = 17          # LayerNormalization is native from 17; TensorRT 10 and 11 parse it
PRECISIONS = ("float32", "float16", "bfloat16")


@dataclass(frozen=True)
class ShapeRange:
    """The input shapes an engine accepts: its optimisation profile (min, opt, max)."""

    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]

    @classmethod
    def fixed(cls, shape: Sequence[int]) -> ShapeRange:
        shape = tuple(int(s) for s in shape)
        return cls(shape, shape, shape)

    @classmethod
    def batch_up_to(cls, shape: Sequence[int], batch: int) -> ShapeRange:
        """Batch 1..``batch`` of one image size (``shape``'s first dimension is ignored)."""
        rest = tuple(int(s) for s in shape[1:])
        return cls((1, *rest), (batch, *rest), (batch, *rest))

    def dynamic_axes(self) -> list[int]:
        """The dimensions that vary within the range (exported as named ONNX dimensions)."""
        return [i for i, (a, b) in enumerate(zip(self.min, self.max)) if a != b]

    def holds(self, shape: Sequence[int]) -> bool:
        return len(shape) == len(self.min) and all(
            lo <= int(s) <= hi for s, lo, hi in zip(shape, self.min, self.max))


@dataclass(frozen=True)
class EngineSpec:
    """What an engine is built from and for, apart from the machine (see :class:`Target`)."""

    model: str                       # e.g. "depth-anything-v2-small", "sam2-vision"
    weights_sha256: str              # the weights' hash; a folder path when none is known
    precision: str                   # "float32" | "float16" | "bfloat16" (the graph's types)
    shapes: ShapeRange
    input_name: str
    output_names: tuple[str, ...]
    export_version: int = 1          # bump when the exported graph changes

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {self.precision!r}")

    def record(self, target: Target) -> dict[str, Any]:
        """Everything that makes an engine non-portable; equal records, same engine."""
        return {"model": self.model, "export_version": self.export_version,
                "weights_sha256": self.weights_sha256, "precision": self.precision,
                "input": self.input_name, "outputs": list(self.output_names),
                "shapes": {"min": list(self.shapes.min), "opt": list(self.shapes.opt),
                           "max": list(self.shapes.max)},
                **asdict(target)}


@dataclass(frozen=True)
class Target:
    """The machine an engine is built for: engines are specific to all four."""

    gpu: str
    capability: str           # CUDA compute capability, e.g. "8.9"
    tensorrt: str
    cuda: str = ""


class EngineBuilder(Protocol):
    def build(self, onnx_path: Path, engine_path: Path, spec: EngineSpec) -> None:
        """Write a serialised engine for ``onnx_path`` to ``engine_path``."""


class EngineRuntime(Protocol):
    def load(self, engine_path: Path, spec: EngineSpec) -> Callable[[Any], list[Any]]:
        """A function running the engine: input tensor -> output tensors in spec order."""


def default_root() -> Path:
    """``<moviola home>/cache/tensorrt``: the home is fixed by the environment, so no config
    file is read for it."""
    from moviola.plugin.discovery import moviola_home
    return moviola_home() / "cache" / "tensorrt"


def available() -> tuple[bool, str]:
    """Whether TensorRT engines can be built here, and if not, why: the same answer as
    ``hello``'s ``runtimes`` (:func:`moviola.engine.devices.backends`)."""
    from ..devices import backends as runtimes
    found = runtimes()
    if not found["tensorrt"]:
        return False, "the tensorrt package is not installed (pip install 'moviola[tensorrt]')"
    if not found["torch"]:
        return False, "torch is not installed (pip install 'moviola[ml]')"
    if not found["cuda"]:
        return False, "TensorRT needs a CUDA GPU, and torch sees none"
    return True, ""


def current_target() -> Target:
    """This machine's GPU (the current CUDA device) and TensorRT version."""
    import tensorrt
    import torch
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    return Target(gpu=props.name, capability=f"{props.major}.{props.minor}",
                  tensorrt=str(tensorrt.__version__), cuda=str(torch.version.cuda or ""))


def export_onnx(module: Any, example: Any, onnx_path: Path, spec: EngineSpec) -> None:
    """Export ``module`` (one tensor in, a tensor or a tuple of tensors out) as ONNX.

    The graph keeps ``example``'s dtype (see the module docstring: precision comes from the
    graph); dimensions that vary within ``spec.shapes`` are exported as named dimensions.
    It uses torch's TorchScript exporter (``dynamo=False``), which torch 2.13 still ships but
    has deprecated; the dynamo exporter would add the ``onnxscript`` dependency.
    """
    import torch
    names = (spec.input_name, *spec.output_names)
    axes = spec.shapes.dynamic_axes()
    dynamic = {name: {i: f"d{i}" for i in axes} for name in names} if axes else None
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(module, (example,), str(onnx_path), input_names=[spec.input_name],
                          output_names=list(spec.output_names), opset_version=OPSET,
                          dynamic_axes=dynamic, dynamo=False)


class TrtBuilder:
    """Builds a strongly typed engine with the TensorRT 10/11 Python API. UNVERIFIED."""

    def build(self, onnx_path: Path, engine_path: Path, spec: EngineSpec) -> None:
        import tensorrt as trt
        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        # Strongly typed: required on 11 (where the flag is accepted and ignored), chosen on 10
        # so both versions run the graph's own types; BuilderFlag.FP16 no longer exists.
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        network = builder.create_network(flags)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(onnx_path.read_bytes()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise RuntimeError(f"TensorRT cannot parse {onnx_path.name}: {errors}")
        config = builder.create_builder_config()
        profile = builder.create_optimization_profile()
        profile.set_shape(spec.input_name, spec.shapes.min, spec.shapes.opt, spec.shapes.max)
        config.add_optimization_profile(profile)
        data = builder.build_serialized_network(network, config)
        if data is None:
            raise RuntimeError(f"TensorRT failed to build an engine for {spec.model}")
        with AtomicPath(engine_path) as tmp:
            Path(tmp).write_bytes(bytes(data))


class TrtRuntime:
    """Runs an engine on CUDA torch tensors (the tensor-address API of TensorRT 10 and 11).
    UNVERIFIED."""

    def load(self, engine_path: Path, spec: EngineSpec) -> Callable[[Any], list[Any]]:
        import tensorrt as trt
        import torch
        logger = trt.Logger(trt.Logger.WARNING)
        engine = trt.Runtime(logger).deserialize_cuda_engine(engine_path.read_bytes())
        if engine is None:   # another TensorRT version, or not an engine at all
            raise RuntimeError(f"TensorRT cannot load {engine_path.name}")
        context = engine.create_execution_context()

        def torch_dtype(name: str) -> Any:
            return torch.from_numpy(trt.nptype(engine.get_tensor_dtype(name))(0).reshape(1)).dtype

        input_dtype = torch_dtype(spec.input_name)

        def run(pixels: Any) -> list[Any]:
            pixels = pixels.to(input_dtype).contiguous()
            context.set_input_shape(spec.input_name, tuple(pixels.shape))
            context.set_tensor_address(spec.input_name, pixels.data_ptr())
            outputs = []
            for name in spec.output_names:
                out = torch.empty(tuple(context.get_tensor_shape(name)), dtype=torch_dtype(name),
                                  device=pixels.device)
                context.set_tensor_address(name, out.data_ptr())
                outputs.append(out)
            stream = torch.cuda.current_stream()
            if not context.execute_async_v3(stream.cuda_stream):
                raise RuntimeError(f"TensorRT failed to run {spec.model}")
            stream.synchronize()
            return outputs

        return run


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "model"


@dataclass
class EngineCache:
    """Engines on disk, built once per key and checked before every load."""

    root: Path
    builder: EngineBuilder = field(default_factory=TrtBuilder)
    runtime: EngineRuntime = field(default_factory=TrtRuntime)
    exporter: Callable[[Any, Any, Path, EngineSpec], None] = export_onnx
    target: Callable[[], Target] = current_target
    builds: int = 0                  # engines this cache built (not loaded) in this process
    last: dict[str, Any] = field(default_factory=dict)   # what the latest runner() did

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    @classmethod
    def default(cls) -> EngineCache:
        return cls(default_root())

    def key(self, spec: EngineSpec) -> str:
        return cache_key("tensorrt", spec.record(self.target()))

    def paths(self, spec: EngineSpec) -> tuple[Path, Path]:
        """(engine, record) files for ``spec`` on this machine."""
        folder = self.root / _slug(spec.model)
        key = self.key(spec)
        return folder / f"{key}.engine", folder / f"{key}.json"

    def valid(self, spec: EngineSpec) -> bool:
        """Whether the cached engine for ``spec`` was built for exactly this and is intact."""
        engine, record = self.paths(spec)
        try:
            stored = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if not isinstance(stored, dict) or not engine.is_file():
            return False
        expected = spec.record(self.target())
        if {k: v for k, v in stored.items() if k != "engine_sha256"} != expected:
            return False        # stale (other TensorRT, weights...) or foreign (other GPU)
        return stored.get("engine_sha256") == sha256_of(engine)

    def runner(self, spec: EngineSpec, module: Callable[[], Any], example: Any
               ) -> Callable[[Any], list[Any]]:
        """A function running the engine for ``spec``, built first when the cache has no
        valid one. ``module()`` gives the torch module to export (called only to build);
        ``example`` is an input inside ``spec.shapes``."""
        engine, _ = self.paths(spec)
        if self.valid(spec):
            try:
                run = self.runtime.load(engine, spec)
                self.last = {"engine": str(engine), "built_now": False}
                return run
            except Exception as exc:  # noqa: BLE001 - an engine that will not load is rebuilt
                log.warning("cached engine %s does not load (%s); rebuilding", engine.name, exc)
        elif engine.exists():
            log.info("cached engine %s is stale or foreign; rebuilding", engine.name)
        self.build(spec, module(), example)
        run = self.runtime.load(engine, spec)
        self.last = {"engine": str(engine), "built_now": True}
        return run

    def build(self, spec: EngineSpec, module: Any, example: Any) -> Path:
        """Export, build and record the engine for ``spec``; returns the engine's path."""
        engine, record = self.paths(spec)
        engine.parent.mkdir(parents=True, exist_ok=True)
        record.unlink(missing_ok=True)      # no record may describe a half-replaced engine
        # A hidden name of this build's own: two engines building at once never share it.
        onnx_path = AtomicPath(engine.with_suffix(".onnx")).tmp
        try:
            self.exporter(module, example, onnx_path, spec)
            self.builder.build(onnx_path, engine, spec)
        finally:
            onnx_path.unlink(missing_ok=True)
        written = {**spec.record(self.target()), "engine_sha256": sha256_of(engine)}
        with AtomicPath(record) as tmp:
            Path(tmp).write_text(json.dumps(written, indent=1, sort_keys=True), encoding="utf-8")
        self.builds += 1
        return engine


def precision_name(dtype: Any) -> str:
    """A torch dtype as the precision name engines are keyed by ("float16"...)."""
    return str(dtype).replace("torch.", "")


def describe(cache: EngineCache | None) -> dict[str, Any] | None:
    """Provenance of the TensorRT path (None when it is not used). Stable across runs (it is
    part of result cache keys): the engine's file name holds its key."""
    if cache is None:
        return None
    return {"kind": "tensorrt", "engine": cache.last.get("engine")}
