"""Reference twins written in PyTorch for the twin kit's tests, with
random weights of the scales training gives.

(a) A Sensorium-2022-style static model (the baseline of
sinzlab/neuralpredictors, reference sheet "Sensorium 2022 baseline"): a
stacked 2-D convolutional core (a 9x9 first layer, then depth-separable
layers: 1x1, depthwise 7x7, 1x1), batch norm and ELU after each layer,
the last two layers' outputs stacked; a Gaussian readout that samples the
core's output bilinearly (grid_sample) at each unit's learned position,
shifted by a shifter MLP from the pupil position; output ELU(x) + 1."""
import torch
import torch.nn.functional as F
from torch import nn


class DepthSeparable(nn.Sequential):
    def __init__(self, c, k):
        super().__init__(nn.Conv2d(c, c, 1, bias=False), nn.Conv2d(c, c, k, padding=k // 2, groups=c, bias=False),
                         nn.Conv2d(c, c, 1, bias=False))


class Core(nn.Module):
    def __init__(self, channels=16, layers=4):
        super().__init__()
        self.layers = nn.ModuleList()
        for i in range(layers):
            conv = nn.Conv2d(1, channels, 9, padding=4, bias=False) if i == 0 else DepthSeparable(channels, 7)
            self.layers.append(nn.Sequential(conv, nn.BatchNorm2d(channels), nn.ELU()))

    def forward(self, x):
        outs = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return torch.cat(outs[-2:], dim=1)


class Shifter(nn.Module):
    def __init__(self, hidden=5):
        super().__init__()
        self.l1, self.l2 = nn.Linear(2, hidden), nn.Linear(hidden, 2)

    def forward(self, pupil):
        return torch.tanh(self.l2(torch.tanh(self.l1(pupil))))


class GaussianReadout(nn.Module):
    """Eval-mode Gaussian readout: each unit reads its position mu."""

    def __init__(self, channels, units):
        super().__init__()
        self.mu = nn.Parameter(torch.rand(1, units, 1, 2) * 1.6 - 0.8)
        self.features = nn.Parameter(torch.randn(1, channels, units) / channels ** 0.5)
        self.bias = nn.Parameter(torch.randn(units) * 0.1)

    def forward(self, x, shift):
        grid = torch.clamp(self.mu + shift[:, None, None, :], -1, 1)
        y = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
        return (y.squeeze(-1) * self.features).sum(1) + self.bias


class SensoriumModel(nn.Module):
    def __init__(self, channels=16, layers=4, units=40):
        super().__init__()
        self.core = Core(channels, layers)
        self.shifter = Shifter()
        self.readout = GaussianReadout(2 * channels, units)

    def forward(self, images, pupil):
        return F.elu(self.readout(self.core(images), self.shifter(pupil))) + 1


def sensorium_model(seed=0, **kw):
    torch.manual_seed(seed)
    m = SensoriumModel(**kw)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):  # running statistics of a trained network
                mod.running_mean.normal_(0, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.normal_(0, 0.1)
    return m.eval()


def export(model, path, image_hw, dtype):
    """torch.onnx.export with batch 1, fixed sizes, opset 16 (GridSample)."""
    model = model.to(dtype)
    images = torch.zeros(1, 1, *image_hw, dtype=dtype)
    pupil = torch.zeros(1, 2, dtype=dtype)
    torch.onnx.export(model, (images, pupil), path, input_names=["images", "pupil"], output_names=["responses"],
                      opset_version=16)
    return model
