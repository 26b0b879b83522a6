"""Early-exit models of the DAPDEE model zoo (PyTorch), for 32x32 inputs (CIFAR-10).

Every model's forward returns a tuple (exit1, ..., exitN-1, final) of logits; exported to ONNX
with one graph output per exit, named exit1..exitN-1 and final. Exit heads are BranchyNet-style
branches: a small conv block, pooling and a linear classifier (BranchyNet, Teerapittayanon et
al., ICPR 2016). Where each exit sits is given in EXITS below and in models/README.md.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def exit_head(channels, num_classes, hidden=32):
    """A BranchyNet-style exit: conv3x3 -> ReLU -> global average pool -> linear."""
    return nn.Sequential(
        nn.Conv2d(channels, hidden, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(hidden, num_classes),
    )


class EarlyExitNet(nn.Module):
    """A backbone split in stages; exit k follows stage k, the final classifier the last stage."""

    def __init__(self, stages, heads, final):
        super().__init__()
        self.stages = nn.ModuleList(stages)
        self.heads = nn.ModuleList(heads)
        self.final = final

    def backbone_parameters(self):
        return list(self.stages.parameters()) + list(self.final.parameters())

    def head_parameters(self):
        return list(self.heads.parameters())

    def forward(self, x):
        outs = []
        for k, stage in enumerate(self.stages):
            x = stage(x)
            if k < len(self.heads):
                outs.append(self.heads[k](x))
        outs.append(self.final(x))
        return tuple(outs)


def _vgg_block(cin, cout, convs):
    layers = []
    for i in range(convs):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


def ee_vgg16(num_classes=10):
    """VGG16 (13 conv + BN, CIFAR variant with a 512-d classifier); exits after blocks 1, 2, 3."""
    blocks = [_vgg_block(3, 64, 2), _vgg_block(64, 128, 2), _vgg_block(128, 256, 3),
              nn.Sequential(_vgg_block(256, 512, 3), _vgg_block(512, 512, 3))]
    heads = [exit_head(64, num_classes), exit_head(128, num_classes), exit_head(256, num_classes)]
    final = nn.Sequential(nn.Flatten(), nn.Linear(512, 512), nn.ReLU(inplace=True), nn.Linear(512, num_classes))
    return EarlyExitNet(blocks, heads, final)


def ee_alexnet(num_classes=10):
    """AlexNet for 32x32 (5 conv, 3 FC, CIFAR sizes); exits after conv1+pool and conv2+pool."""
    s1 = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2))
    s2 = nn.Sequential(nn.Conv2d(64, 192, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2))
    s3 = nn.Sequential(nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
                       nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
                       nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2))
    heads = [exit_head(64, num_classes), exit_head(192, num_classes)]
    final = nn.Sequential(nn.Flatten(), nn.Linear(256 * 4 * 4, 1024), nn.ReLU(inplace=True),
                          nn.Linear(1024, 1024), nn.ReLU(inplace=True), nn.Linear(1024, num_classes))
    return EarlyExitNet([s1, s2, s3], heads, final)


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin, cout, kernel, padding):
        super().__init__(nn.Conv2d(cin, cout, kernel, padding=padding, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class InceptionC(nn.Module):
    """Inception-v3's InceptionC module (the paper's Figure 1): 1x1, 7x7 factorised as 1x7/7x1,
    double 7x7 factorised, and pool + 1x1 branches, concatenated."""

    def __init__(self, cin, c7, cout_branch=48):
        super().__init__()
        self.b1 = ConvBNReLU(cin, cout_branch, 1, 0)
        self.b7 = nn.Sequential(ConvBNReLU(cin, c7, 1, 0), ConvBNReLU(c7, c7, (1, 7), (0, 3)),
                                ConvBNReLU(c7, cout_branch, (7, 1), (3, 0)))
        self.b77 = nn.Sequential(ConvBNReLU(cin, c7, 1, 0), ConvBNReLU(c7, c7, (7, 1), (3, 0)),
                                 ConvBNReLU(c7, c7, (1, 7), (0, 3)), ConvBNReLU(c7, c7, (7, 1), (3, 0)),
                                 ConvBNReLU(c7, cout_branch, (1, 7), (0, 3)))
        self.bp = nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1), ConvBNReLU(cin, cout_branch, 1, 0))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b7(x), self.b77(x), self.bp(x)], 1)


def ee_inception(num_classes=10):
    """A small Inception network: stem, two InceptionC modules at 16x16, one at 8x8; exits after
    the stem+first module and after the second module."""
    s1 = nn.Sequential(ConvBNReLU(3, 64, 3, 1), nn.MaxPool2d(2), InceptionC(64, 32))     # 192 x 16 x 16
    s2 = nn.Sequential(InceptionC(192, 48))                                                # 192 x 16 x 16
    s3 = nn.Sequential(nn.MaxPool2d(2), InceptionC(192, 64, 64))                           # 256 x 8 x 8
    heads = [exit_head(192, num_classes), exit_head(192, num_classes)]
    final = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, num_classes))
    return EarlyExitNet([s1, s2, s3], heads, final)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


def ee_resnet18(num_classes=10):
    """ResNet-18 for 32x32 (3x3 stem, no max-pool); exits after layer1, layer2 and layer3."""
    stem_l1 = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                            BasicBlock(64, 64, 1), BasicBlock(64, 64, 1))
    l2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128, 1))
    l3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256, 1))
    l4 = nn.Sequential(BasicBlock(256, 512, 2), BasicBlock(512, 512, 1))
    heads = [exit_head(64, num_classes), exit_head(128, num_classes), exit_head(256, num_classes)]
    final = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes))
    return EarlyExitNet([stem_l1, l2, l3, l4], heads, final)


MODELS = {
    "ee_vgg16": ee_vgg16,
    "ee_alexnet": ee_alexnet,
    "ee_inception": ee_inception,
    "ee_resnet18": ee_resnet18,
}

EXITS = {
    "ee_vgg16": ["after conv block 1 (64x16x16)", "after conv block 2 (128x8x8)", "after conv block 3 (256x4x4)", "final"],
    "ee_alexnet": ["after conv1 + pool (64x16x16)", "after conv2 + pool (192x8x8)", "final"],
    "ee_inception": ["after stem + InceptionC 1 (192x16x16)", "after InceptionC 2 (192x16x16)", "final"],
    "ee_resnet18": ["after layer1 (64x32x32)", "after layer2 (128x16x16)", "after layer3 (256x8x8)", "final"],
}


def output_names(n_outputs):
    return [f"exit{k + 1}" for k in range(n_outputs - 1)] + ["final"]


def count_macs(model, input_shape=(1, 3, 32, 32)):
    """Conv2d and Linear MACs of one forward pass, counted with forward hooks."""
    total = [0]

    def conv_hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1]
        total[0] += out.numel() * (m.in_channels // m.groups) * k

    def linear_hook(m, inp, out):
        total[0] += out.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(*input_shape))
    for h in hooks:
        h.remove()
    return total[0]
