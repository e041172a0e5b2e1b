"""The real ONNX graphs the TensorRT path exports, on CPU: SAM 2.1's image encoder and Depth
Anything V2 (tiny random models saved and loaded like real checkpoints), exported through the
same engine cache and call sites as on a GPU. Only the build and the runtime are replaced:
the "engine" is the checked ONNX file, run by ONNX Runtime and compared with torch."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
onnx = pytest.importorskip("onnx")

from depth_scenes import make_scene, tiny_depth_anything  # noqa: E402
from fake_tensorrt import GPU  # noqa: E402
from moviola.engine.depth.anything_v2 import DepthAnythingBackend  # noqa: E402
from moviola.engine.imaging.display import at_size  # noqa: E402
from moviola.engine.matte import sam2_model  # noqa: E402
from moviola.engine.matte.prompts import Prompts  # noqa: E402
from moviola.engine.matte.sam2 import Sam2Backend  # noqa: E402
from moviola.engine.matte.tensorrt import INPUT, OUTPUTS, TensorRTAccelerator  # noqa: E402
from moviola.engine.models.registry import ModelRegistry, ModelSpec, WeightFile  # noqa: E402
from moviola.engine.models.store import WeightsStore  # noqa: E402
from moviola.engine.models.tensorrt import OPSET, EngineCache, EngineSpec  # noqa: E402
from sam2_tiny import tiny_config  # noqa: E402

try:
    import onnxruntime
except ImportError:  # the graphs are still exported and checked
    onnxruntime = None


class OnnxAsEngine:
    """Builder and runtime for the engine cache: the 'engine' is the exported graph, checked
    with onnx.checker and run by ONNX Runtime on CPU (torch's output where it is absent)."""

    def __init__(self) -> None:
        self.graphs: list[onnx.ModelProto] = []
        self.runs = 0

    def build(self, onnx_path: Path, engine_path: Path, spec: EngineSpec) -> None:
        onnx.checker.check_model(str(onnx_path), full_check=True)
        graph = onnx.load(str(onnx_path))
        assert [i.name for i in graph.graph.input] == [spec.input_name]
        assert [o.name for o in graph.graph.output] == list(spec.output_names)
        assert graph.opset_import[0].version == OPSET
        self.graphs.append(graph)
        shutil.copyfile(onnx_path, engine_path)

    def load(self, engine_path: Path, spec: EngineSpec):
        if onnxruntime is None:
            pytest.skip("onnxruntime is not installed: graphs exported and checked only")
        session = onnxruntime.InferenceSession(str(engine_path),
                                               providers=["CPUExecutionProvider"])

        def run(x):
            self.runs += 1
            outs = session.run(list(spec.output_names), {spec.input_name: x.float().numpy()})
            return [torch.from_numpy(o) for o in outs]

        return run

    def cache(self, root: Path) -> EngineCache:
        return EngineCache(root, builder=self, runtime=self, target=lambda: GPU)


def close(a: np.ndarray, b: np.ndarray, rel: float = 1e-4) -> bool:
    """Within ``rel`` of the larger magnitude (random tiny models give large raw values)."""
    return float(np.abs(a - b).max()) <= rel * max(float(np.abs(b).max()), 1e-6)


def test_depth_anything_v2_exports_and_matches_torch(tmp_path):
    store = WeightsStore(tmp_path / "weights")
    spec = ModelRegistry.default().get("depth-anything-v2-small")
    tiny_depth_anything(store.folder(spec))
    onnx_engines = OnnxAsEngine()
    # Batches of 2: one graph with a dynamic batch dimension runs the full and the last batch.
    trt = DepthAnythingBackend(spec, store, working_size=70, runtime="tensorrt",
                               engines=onnx_engines.cache(tmp_path / "trt"), batch_size=2)
    plain = DepthAnythingBackend(spec, store, working_size=70, batch_size=2)
    scene = make_scene("truck", 20)
    frames = [(i, at_size(scene.image(i), trt.working_shape(160, 120))) for i in range(3)]
    got = list(trt.predict(frames))
    (graph,) = onnx_engines.graphs
    batch = graph.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param and not batch.dim_value          # dynamic, not fixed
    assert onnx_engines.runs == 2
    for a, b in zip(got, plain.predict(frames)):
        assert a.values.shape == (70, 98) and close(a.values, b.values)


def test_sam2_image_encoder_exports_and_matches_torch(tmp_path):
    from transformers import Sam2VideoModel
    root = tmp_path / "weights"
    torch.manual_seed(0)
    Sam2VideoModel(tiny_config()).save_pretrained(root / "sam2-onnx-tiny")
    sha = hashlib.sha256((root / "sam2-onnx-tiny" / "model.safetensors").read_bytes()).hexdigest()
    registry = ModelRegistry([ModelSpec(
        name="sam2-onnx-tiny", task="matte", backends=("torch", "tensorrt"),
        weights=(WeightFile("model.safetensors", sha256=sha), WeightFile("config.json")),
        license="Apache-2.0", commercial_use=True, input_size=(128, 128))])

    def backend(accelerator):
        sam2_model._LOADED.clear()   # a model instance of its own: the encoder gets replaced
        return Sam2Backend(working_size=160, model="sam2-onnx-tiny", store=WeightsStore(root),
                           registry=registry, accelerator=accelerator)

    plain = backend(None)
    onnx_engines = OnnxAsEngine()
    fast = backend(TensorRTAccelerator(onnx_engines.cache(tmp_path / "trt")))
    (graph,) = onnx_engines.graphs
    assert [i.name for i in graph.graph.input] == [INPUT]
    assert [o.name for o in graph.graph.output] == list(OUTPUTS)
    # The encoder alone, then a whole click through the model with the encoder replaced.
    pixels = torch.randn(1, 3, 128, 128)
    expected = plain.loaded.model.vision_encoder(pixels, return_dict=True)
    with torch.no_grad():
        got = fast.loaded.model.vision_encoder(pixels)
    for a, b in zip((*got.fpn_hidden_states, *got.fpn_position_encoding),
                    (*expected.fpn_hidden_states, *expected.fpn_position_encoding)):
        assert close(a.numpy(), b.detach().numpy())
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    prompts = Prompts(include=((70.0, 50.0),))
    assert np.allclose(fast.segment(frame, prompts), plain.segment(frame, prompts), atol=1e-3)
    sam2_model._LOADED.clear()
