"""The generator and discriminator (torch; training only — inference runs the ONNX export).

Generator: warp, then refine. Its input is the warp renderer's frame (the source pixels
already moved to the driving landmarks, mouth interior painted), the driving landmark maps
and the unwarped source crop. A small U-Net predicts an RGB image and a blend mask:
    out = warped + region * (1 - mask) * (generated - warped)
where region is the face region drawn from the landmarks (crop.py). So where the warp is right (skin, hair, background) it is kept, and the network only has to
invent what the warp cannot (teeth, the inside of the mouth, lid skin, smile folds). At
initialisation the mask is ~1: the generator starts as the warp renderer and training moves
it away only where that lowers the losses.

Discriminator: PatchGAN on (image, landmark maps), two scales; its intermediate features
serve the feature-matching loss.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from bridge.render.crop import IN_CHANNELS, N_MAPS

REGION = 3 + N_MAPS - 1  # input channel of the face-region map (the last map)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2, inplace=True))


class _Res(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.a = nn.Conv2d(ch, ch, 3, 1, 1)
        self.b = nn.Conv2d(ch, ch, 3, 1, 1)

    def forward(self, x):
        return x + self.b(F.leaky_relu(self.a(x), 0.2))


class _Up(nn.Module):
    """Nearest upsample then conv (no checkerboard), plus the encoder's skip."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = _conv(cin, cout)

    def forward(self, x, skip):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest")) + skip


class Generator(nn.Module):
    def __init__(self, width: int = 16):
        super().__init__()
        w = width
        self.stem = _conv(IN_CHANNELS, w, 2)                               # 1/2
        self.down1 = nn.Sequential(_conv(w, 2 * w, 2))                     # 1/4
        self.down2 = nn.Sequential(_conv(2 * w, 4 * w, 2), _Res(4 * w))    # 1/8
        self.down3 = nn.Sequential(_conv(4 * w, 6 * w, 2), _Res(6 * w), _Res(6 * w))  # 1/16
        self.up3 = _Up(6 * w, 4 * w)
        self.up2 = _Up(4 * w, 2 * w)
        self.up1 = _Up(2 * w, w)
        # Upsample, then a conv at full size. A pixel-shuffle head (cheaper) gave each of the
        # 2x2 sub-pixels its own filter, and that showed as a dotted grid inside open mouths.
        self.head = nn.Conv2d(w, 4, 3, 1, 1)
        nn.init.zeros_(self.head.weight)
        with torch.no_grad():
            self.head.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 4.0]))  # mask logit: sigmoid(4) = 0.98, keep the warp

    def forward(self, x):
        """x: (N, IN_CHANNELS, H, W) in [-1, 1] -> (N, 3, H, W) in [-1, 1]; H, W multiples of 16."""
        warped = x[:, :3]
        s0 = self.stem(x)
        s1 = self.down1(s0)
        s2 = self.down2(s1)
        y = self.down3(s2)
        y = self.up1(self.up2(self.up3(y, s2), s1), s0)
        y = self.head(F.interpolate(y, scale_factor=2.0, mode="nearest"))
        rgb, mask = torch.tanh(y[:, :3]), torch.sigmoid(y[:, 3:4])
        region = (x[:, REGION:REGION + 1] + 1) * 0.5
        return warped + region * (1 - mask) * (rgb - warped)


class _PatchD(nn.Module):
    def __init__(self, cin: int, w: int = 32):
        super().__init__()
        self.layers = nn.ModuleList([
            nn.Sequential(nn.Conv2d(cin, w, 4, 2, 1), nn.LeakyReLU(0.2, True)),
            nn.Sequential(nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2, True)),
            nn.Sequential(nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.LeakyReLU(0.2, True)),
            nn.Sequential(nn.Conv2d(4 * w, 4 * w, 3, 1, 1), nn.LeakyReLU(0.2, True)),
        ])
        self.out = nn.Conv2d(4 * w, 1, 3, 1, 1)

    def forward(self, x):
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return self.out(x), feats


class Discriminator(nn.Module):
    """Two PatchGANs: full resolution and half, each seeing the image with the maps."""

    def __init__(self, w: int = 32):
        super().__init__()
        self.scales = nn.ModuleList([_PatchD(3 + N_MAPS, w), _PatchD(3 + N_MAPS, w)])

    def forward(self, image, maps):
        x = torch.cat([image, maps], 1)
        out = []
        for i, d in enumerate(self.scales):
            out.append(d(x if i == 0 else F.avg_pool2d(x, 2)))
        return out  # [(logits, feats), ...]
