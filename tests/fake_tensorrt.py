"""Stands in for TensorRT (which cannot be installed here) in the shared engine cache: the
'exported' module is kept, the 'engine' file is a marker, and running the engine runs the
kept torch module, so results compare exactly with the torch path."""

from __future__ import annotations

from pathlib import Path

from moviola.engine.models.tensorrt import EngineCache, EngineSpec, Target

GPU = Target(gpu="Fake GPU 9000", capability="9.0", tensorrt="11.4.0", cuda="13.0")


class FakeTensorRT:
    def __init__(self, target: Target = GPU) -> None:
        self.target = target
        self.exported: list[tuple[tuple[int, ...], str]] = []   # (example shape, dtype)
        self.built: list[tuple[str, EngineSpec]] = []           # (engine file name, spec)
        self.loaded: list[str] = []
        self.runs = 0
        self._modules: dict[str, object] = {}
        self._pending: object = None

    def export(self, module, example, path: Path, spec: EngineSpec) -> None:
        Path(path).write_bytes(b"onnx")
        self._pending = module
        self.exported.append((tuple(example.shape), str(example.dtype).replace("torch.", "")))

    def build(self, onnx_path: Path, engine_path: Path, spec: EngineSpec) -> None:
        assert onnx_path.read_bytes() == b"onnx"
        engine_path.write_bytes(b"engine " + engine_path.name.encode())
        self._modules[engine_path.name] = self._pending
        self.built.append((engine_path.name, spec))

    def load(self, engine_path: Path, spec: EngineSpec):
        assert engine_path.read_bytes() == b"engine " + engine_path.name.encode(), \
            "a foreign or damaged engine was loaded"
        module = self._modules[engine_path.name]
        self.loaded.append(engine_path.name)

        def run(x):
            self.runs += 1
            out = module(x)
            return list(out) if isinstance(out, (tuple, list)) else [out]

        return run

    def cache(self, root: Path, target: Target | None = None) -> EngineCache:
        """An engine cache under ``root`` that builds and runs through this fake."""
        chosen = target or self.target
        return EngineCache(Path(root), builder=self, runtime=self, exporter=self.export,
                           target=lambda: chosen)
