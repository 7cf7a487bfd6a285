"""ONNX export of the image tower: fp32 parity with torch, and an int8 model that still points the same way."""
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from ours.export import FLOAT_CONVS, OnnxImageEncoder, export_onnx, quantize_int8  # noqa: E402
from ours.model import OursModel  # noqa: E402
from ours.preprocess import batch  # noqa: E402

torch.set_num_threads(1)


def _images(n=6):
    out = []
    for i in range(n):
        im = Image.new("L", (60 + 20 * i, 40), 255)
        ImageDraw.Draw(im).text((4, 10 + i % 3), "word" * (1 + i % 3), fill=0)
        out.append(im.convert("RGB"))
    return out


def test_onnx_parity_and_int8(tmp_path):
    torch.manual_seed(0)
    model = OursModel()
    model.image.train()
    with torch.no_grad():  # give BatchNorm non-trivial running statistics
        for _ in range(3):
            model.image(torch.randn(8, 1, 64, 256))
    model.eval()
    imgs = _images()
    ref = model.encode_images(imgs)
    fp32 = export_onnx(model, tmp_path / "m.onnx")
    got = OnnxImageEncoder(fp32).encode_images(imgs)
    assert got.shape == ref.shape == (6, 128)
    assert np.abs(got - ref).max() < 1e-4
    int8 = quantize_int8(fp32, tmp_path / "m8.onnx", batch(_images(8)).numpy())
    q = OnnxImageEncoder(int8).encode_images(imgs)
    assert int8.stat().st_size < fp32.stat().st_size / 2
    assert (q * ref).sum(1).min() > 0.8
    # the stem and the first depthwise conv stay float (weights and inputs: the stem's output, mostly blank
    # paper, is never rounded to uint8); every other conv is quantized, and HardSwish stays one (float) op
    import onnx

    assert FLOAT_CONVS == 2
    graph = onnx.load(str(int8)).graph
    dequant = {o for n in graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    for c in convs[:FLOAT_CONVS]:
        assert c.input[0] not in dequant and c.input[1] not in dequant
    assert all(c.input[0] in dequant and c.input[1] in dequant for c in convs[FLOAT_CONVS:])
    n_hardswish = [sum(n.op_type == "HardSwish" for n in g.node) for g in (graph, onnx.load(str(fp32)).graph)]
    assert n_hardswish[0] == n_hardswish[1] > 0
