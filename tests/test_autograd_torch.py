"""Custom networks written as a PyTorch user writes them, run in cnncore and in PyTorch from the
same weights: outputs, every parameter's gradient after loss.backward(), and 5-step Adam
trajectories. The network code is one function used with either library's nn / F / cat."""
import numpy as np
import pytest

import cnncore
from cnncore import functional as cF
from cnncore import nn as cnn
from cnncore import optim as coptim
from conftest import assert_close

torch = pytest.importorskip("torch")
tnn, tF = torch.nn, torch.nn.functional


def contract_net(nn, F, cat):
    """The example of the autograd issue, verbatim."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 8, 3, padding=1); self.b = nn.Conv2d(3, 8, 1); self.fc = nn.Linear(16 * 4 * 4, 10)

        def forward(self, x):
            y = F.relu(self.a(x) + self.b(x))
            u = cat([y, self.a(x) * F.sigmoid(y.mean((2, 3), keepdim=True))], dim=1)
            return self.fc(F.max_pool2d(u, 2).flatten(1))

    return Net()


def squeeze_excitation_net(nn, F, cat):
    """Conv-BN-SiLU, a squeeze-excitation gate, Hardswish, a residual, global pool, Linear."""
    class SE(nn.Module):
        def __init__(self, c, r):
            super().__init__()
            self.reduce = nn.Conv2d(c, r, 1)
            self.expand = nn.Conv2d(r, c, 1)

        def forward(self, x):
            s = F.silu(self.reduce(x.mean((2, 3), keepdim=True)))
            return x * F.sigmoid(self.expand(s))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 20, 3, padding=1, bias=False), nn.BatchNorm2d(20), nn.SiLU())
            self.se = SE(20, 5)
            self.conv = nn.Conv2d(20, 20, 3, padding=1, groups=20, bias=False)
            self.bn = nn.BatchNorm2d(20)
            self.fc = nn.Linear(20, 10)

        def forward(self, x):
            h = self.stem(x)
            h = F.hardswish(self.bn(self.conv(self.se(h)))) + h
            return self.fc(h.mean((2, 3)))

    return Net()


def branches_net(nn, F, cat):
    """Inception-like branches joined by cat (channel counts off the 16-lane blocks), a channel
    slice, one module used twice (shared weights), a detached path, a residual BN+add+ReLU."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.b1 = nn.Conv2d(3, 5, 1)
            self.b2 = nn.Sequential(nn.Conv2d(3, 11, 3, padding=1), nn.BatchNorm2d(11), nn.ReLU())
            self.shared = nn.Conv2d(16, 16, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(16)
            self.pool = nn.AvgPool2d(2)
            self.head = nn.Linear(6 * 3 * 3, 10)

        def forward(self, x):
            u = cat([self.b1(x), self.b2(x)], dim=1)
            v = F.relu(self.bn(self.shared(u)) + u)
            w = self.shared(v) + 0.5 * self.shared(u).detach()
            z = self.pool(F.leaky_relu(w, 0.1))[:, 3:9]
            return self.head(z.reshape(z.shape[0], -1))

    return Net()


def two_heads_net(nn, F, cat):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2))
            self.cls = nn.Linear(8 * 3 * 3, 10)
            self.aux = nn.Linear(8, 4)

        def forward(self, x):
            h = self.body(x)
            return self.cls(h.flatten(1)), self.aux(F.tanh(h.mean((2, 3))))

    return Net()


NETS = {"contract": contract_net, "squeeze_excitation": squeeze_excitation_net, "branches": branches_net,
        "two_heads": two_heads_net}


def build_pair(name, frozen=()):
    cnncore.manual_seed(0)
    ours = NETS[name](cnn, cF, cnncore.cat)
    theirs = NETS[name](tnn, tF, torch.cat)
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})
    for net in (ours, theirs):
        for n, p in net.named_parameters():
            if any(n.startswith(f) for f in frozen):
                p.requires_grad = False
    return ours, theirs


def losses(name, out, labels, crit):
    if name == "two_heads":
        return crit(out[0], labels) + 0.5 * crit(out[1], labels % 4)
    return crit(out, labels)


def data(name, seed=0):
    rng = np.random.default_rng(seed)
    size = 8 if name == "contract" else 6
    return rng.standard_normal((4, 3, size, size)).astype(np.float32), rng.integers(0, 10, 4)


# Biases of convolutions followed by BatchNorm have a zero gradient in exact arithmetic (the
# normalization removes them); Adam divides that float32 noise by its own size, so their
# trajectories are rounding noise in both libraries and are not compared.
CANCELLED_BY_BN = {"b2.0.bias", "body.0.bias"}


@pytest.mark.parametrize("name", list(NETS))
@pytest.mark.parametrize("frozen", [(), ("b1.", "stem.0.", "a.", "body.0.")], ids=["all", "frozen-first"])
def test_gradients_of_every_parameter_match_torch(name, frozen):
    ours, theirs = build_pair(name, frozen)
    x, labels = data(name)
    out = ours(x)
    loss = losses(name, out, labels, cnn.CrossEntropyLoss())
    loss.backward()
    tout = theirs(torch.from_numpy(x))
    tloss = losses(name, tout, torch.from_numpy(labels), tnn.CrossEntropyLoss())
    tloss.backward()
    assert abs(float(loss) - tloss.item()) < 1e-5
    outs = out if isinstance(out, tuple) else (out,)
    touts = tout if isinstance(tout, tuple) else (tout,)
    for o, t in zip(outs, touts):
        assert_close(np.asarray(o), t.detach().numpy(), 1e-4, 1e-5, "output")
    tparams = dict(theirs.named_parameters())
    for n, p in ours.named_parameters():
        tp = tparams[n]
        if tp.grad is None:
            assert p.grad is None, n
        else:
            assert_close(p.grad, tp.grad.numpy(), 1e-4, 1e-5, n)
    tbufs = dict(theirs.named_buffers())
    for n, b in ours.named_buffers():
        assert_close(b, tbufs[n].numpy(), 1e-5, 1e-6, n)


@pytest.mark.parametrize("name", list(NETS))
def test_five_adam_steps_follow_torch(name):
    ours, theirs = build_pair(name)
    opt = coptim.Adam(ours.parameters(), lr=1e-2)
    topt = torch.optim.Adam(theirs.parameters(), lr=1e-2)
    crit, tcrit = cnn.CrossEntropyLoss(), tnn.CrossEntropyLoss()
    for step in range(5):
        x, labels = data(name, step)
        opt.zero_grad()
        losses(name, ours(x), labels, crit).backward()
        opt.step()
        topt.zero_grad()
        losses(name, theirs(torch.from_numpy(x)), torch.from_numpy(labels), tcrit).backward()
        topt.step()
    tparams = dict(theirs.named_parameters())
    for n, p in ours.named_parameters():
        if n not in CANCELLED_BY_BN:
            assert_close(p.data, tparams[n].detach().numpy(), 1e-3, 1e-4, n)


def test_eval_mode_and_no_grad_match_torch():
    ours, theirs = build_pair("branches")
    x, _ = data("branches")
    ours(x)
    theirs(torch.from_numpy(x))  # one training step of running statistics in both
    ours.eval()
    theirs.eval()
    with cnncore.no_grad():
        y = ours(x)
    with torch.no_grad():
        ty = theirs(torch.from_numpy(x))
    assert y.grad_fn is None
    assert_close(np.asarray(y), ty.numpy(), 1e-4, 1e-5)
