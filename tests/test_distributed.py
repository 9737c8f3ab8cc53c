"""cnncore.distributed pieces that need no MPI job: DistributedSampler (and the DataLoader's
sampler argument), the engine's grad-ready hooks and end-of-backward callbacks that
DistributedDataParallel builds on, and SyncBatchNorm's arithmetic with the reduction over ranks
replaced by a stand-in. The mpirun runs are in test_distributed_mpirun.py."""
import pickle

import numpy as np
import pytest

import cnncore
from cnncore import data, nn
from cnncore import distributed as dist
from cnncore.autograd import engine
from cnncore.nn.sync_batchnorm import _sync_batch_norm


# ------------------------------------------------------------------------------ sampler ---

def _shards(n, replicas, **kw):
    return [list(data.DistributedSampler(n, replicas, r, **kw)) for r in range(replicas)]


@pytest.mark.parametrize("n,replicas", [(10, 3), (9, 3), (2, 5), (0, 2), (7, 1)])
def test_sampler_pads_by_repeating_the_start_and_interleaves(n, replicas):
    shards = _shards(n, replicas, shuffle=False)
    per = -(-n // replicas)
    padded = (list(range(n)) * (replicas + 1))[:per * replicas] if n else []
    assert shards == [padded[r::replicas] for r in range(replicas)]
    assert all(len(s) == per == len(data.DistributedSampler(n, replicas, 0)) for s in shards)


def test_sampler_drop_last_cuts_to_equal_disjoint_shards():
    shards = _shards(10, 3, shuffle=False, drop_last=True)
    assert shards == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]


def test_sampler_shuffles_per_epoch_into_disjoint_shards():
    samplers = [data.DistributedSampler(list(range(12)), 3, r, seed=5) for r in range(3)]
    first = [list(s) for s in samplers]
    assert sorted(sum(first, [])) == list(range(12))
    assert first != _shards(12, 3, shuffle=False)
    assert first == [list(s) for s in samplers]  # the same epoch gives the same order
    for s in samplers:
        s.set_epoch(1)
    second = [list(s) for s in samplers]
    assert sorted(sum(second, [])) == list(range(12)) and second != first


def test_sampler_bad_arguments():
    with pytest.raises(ValueError, match="rank: expected an int in \\[0, 1\\], got 2"):
        data.DistributedSampler(4, 2, 2)
    with pytest.raises(ValueError, match="num_replicas: expected an int >= 1, got 0"):
        data.DistributedSampler(4, 0, 0)
    with pytest.raises(TypeError, match="dataset: expected a sized dataset or a number of samples"):
        data.DistributedSampler(object(), 2, 0)
    with pytest.raises(TypeError, match="shuffle: expected a bool"):
        data.DistributedSampler(4, 2, 0, shuffle="yes")
    with pytest.raises(TypeError, match="epoch: expected an int"):
        data.DistributedSampler(4, 2, 0).set_epoch(1.5)
    if not dist.is_initialized():
        with pytest.raises(RuntimeError, match="process group has not been initialized"):
            data.DistributedSampler(4)


def test_dataloader_takes_a_sampler_for_arrays_and_sets_its_epoch():
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    y = np.arange(10)
    sampler = data.DistributedSampler(10, 2, 1, seed=0)
    loader = data.DataLoader(x, y, batch_size=2, sampler=sampler)
    assert len(loader) == 3
    epoch0 = np.concatenate([b for _, b in loader])
    assert epoch0.tolist() == list(data.DistributedSampler(10, 2, 1, seed=0))
    assert sampler.epoch == 1  # the loader moved on to the next epoch, and told its sampler
    loader.set_epoch(0)
    assert np.concatenate([b for _, b in loader]).tolist() == epoch0.tolist()
    with pytest.raises(ValueError, match="sampler: option is mutually exclusive with shuffle"):
        data.DataLoader(x, y, batch_size=2, shuffle=True, sampler=sampler)
    with pytest.raises(TypeError, match="sampler: expected a sized iterable of indices"):
        data.DataLoader(x, y, batch_size=2, sampler=3)


# ------------------------------------------------------------------ grad-ready hooks ---

def _net():
    cnncore.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 5 * 5, 3))


def test_grad_ready_hooks_fire_once_per_backward_with_the_final_gradient():
    net = _net()
    x = np.random.default_rng(0).standard_normal((3, 2, 5, 5)).astype(np.float32)
    fired, seen = [], {}
    names = {id(p): n for n, p in net.named_parameters()}

    first_layer_pending = []

    def hook(p):
        fired.append(names[id(p)])
        seen[names[id(p)]] = p.grad.copy()
        if names[id(p)] == "6.weight":  # the head is final while the first layer's backward is to come
            first_layer_pending.append(net[0].weight.grad is None)

    handles = [p.register_grad_ready_hook(hook) for p in net.parameters()]
    ended = []

    def queue_end(p):  # from inside the reverse pass: a callback for its end
        engine.queue_callback(lambda: ended.append(len(fired)))

    handles.append(net[-1].weight.register_grad_ready_hook(queue_end))
    out = net(x)
    loss = (out * out).sum()
    loss.backward()
    assert sorted(fired) == sorted(names.values())  # each parameter once
    assert fired.index("6.weight") < fired.index("3.weight") < fired.index("0.weight")  # reverse order
    assert ended == [len(fired)]  # the callback ran after every hook
    assert first_layer_pending == [True]
    for name, p in net.named_parameters():
        np.testing.assert_array_equal(seen[name], p.grad)
    for h in handles:
        h.remove()
    fired.clear()
    net(x).sum().backward()
    assert fired == []


def test_queue_callback_outside_a_backward_raises():
    with pytest.raises(RuntimeError, match="no backward pass is running"):
        engine.queue_callback(lambda: None)


def test_grad_ready_hook_arguments_and_pickling():
    p = nn.Parameter(np.ones(3))
    with pytest.raises(TypeError, match="hook: expected a callable"):
        p.register_grad_ready_hook(3)
    p.register_grad_ready_hook(lambda q: None)
    q = pickle.loads(pickle.dumps(p))  # hooks are this process's, not the parameter's state
    np.testing.assert_array_equal(q.data, p.data)
    assert q._grad_ready_hooks is None


# ------------------------------------------------------------------------ SyncBatchNorm ---

def _bn_pair(c=20):
    rng = np.random.default_rng(1)
    bn = nn.BatchNorm2d(c)
    bn.weight.data = rng.standard_normal(c)
    bn.bias.data = rng.standard_normal(c)
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(bn))[0]
    plain = nn.BatchNorm2d(c)
    plain.load_state_dict(bn.state_dict())
    return plain, sync


def _forward_backward(run, bn, x, dy):
    out = run(x)
    (out * dy).sum().backward()
    return out.numpy(), bn.weight.grad, bn.bias.grad


@pytest.mark.parametrize("ranks", [1, 2])
def test_sync_batch_norm_arithmetic_matches_batch_norm(ranks):
    # `ranks` identical ranks: the sums double, the statistics stay those of one rank's batch,
    # the running variance's unbiasing uses the global count
    plain, sync = _bn_pair()
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((4, 20, 3, 5)) * 3 + 1).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    want = _forward_backward(plain, plain, x, dy)
    xt = cnncore.Tensor(x, requires_grad=True)
    sync.train()
    got = _forward_backward(lambda t: _sync_batch_norm(sync, t, 0.1, lambda v: ranks * v), sync, xt, dy)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)
    xd = x.astype(np.float64)
    count = ranks * xd.size // 20
    var = xd.transpose(1, 0, 2, 3).reshape(20, -1).var(axis=1)
    np.testing.assert_allclose(sync.running_mean, 0.1 * xd.mean(axis=(0, 2, 3)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sync.running_var, 0.9 + 0.1 * var * count / (count - 1), rtol=1e-5)


def test_sync_batch_norm_is_batch_norm_without_a_process_group():
    plain, sync = _bn_pair()
    x = np.random.default_rng(3).standard_normal((2, 20, 4, 4)).astype(np.float32)
    for mode in (True, False):
        plain.train(mode)
        sync.train(mode)
        np.testing.assert_array_equal(sync(x).numpy(), plain(x).numpy())
    np.testing.assert_array_equal(sync.running_var, plain.running_var)


def test_convert_sync_batchnorm_shares_parameters_and_copies_buffers():
    net = _net()
    net.eval()
    bn = net[1]
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert converted is net and type(net[1]) is nn.SyncBatchNorm and not net[1].training
    assert net[1].weight is bn.weight and net[1].bias is bn.bias
    assert net[1].running_mean is not bn.running_mean
    assert list(net.state_dict()) == list(_net().state_dict())
    with pytest.raises(ValueError, match="process_group: expected None"):
        nn.SyncBatchNorm(4, process_group="world")


def test_sync_batch_norm_state_dict_keys_as_torch():
    torch = pytest.importorskip("torch")
    assert list(nn.SyncBatchNorm(5).state_dict()) == list(torch.nn.SyncBatchNorm(5).state_dict())


def test_process_group_functions_need_initialization_or_valid_arguments():
    if dist.is_initialized():
        pytest.skip("a process group is initialized in this process")
    for fn in (dist.get_rank, dist.get_world_size, dist.barrier, dist.destroy_process_group):
        with pytest.raises(RuntimeError, match="process group has not been initialized"):
            fn()
    with pytest.raises(ValueError, match="backend: expected 'mpi'"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="init_method: expected None"):
        dist.init_process_group("mpi", init_method="tcp://10.0.0.1:23456")
    with pytest.raises(RuntimeError, match="process group has not been initialized"):
        dist.DistributedDataParallel(_net())


@pytest.mark.parametrize("kwargs,exc,words", [
    ({"module": "net"}, TypeError, ["module: expected a cnncore.nn.Module, got str"]),
    ({"device_ids": [0]}, ValueError, ["device_ids: expected None", "[0]"]),
    ({"process_group": "world"}, ValueError, ["process_group: expected None"]),
    ({"dim": 1}, ValueError, ["dim: expected 0", "1"]),
    ({"bucket_cap_mb": 0}, ValueError, ["bucket_cap_mb: expected a number > 0, got 0"]),
    ({"bucket_cap_mb": "25"}, ValueError, ["bucket_cap_mb: expected a number > 0"]),
])
def test_distributed_data_parallel_bad_arguments(kwargs, exc, words):
    kwargs = dict(kwargs)
    module = kwargs.pop("module", None) or _net()
    with pytest.raises(exc) as info:
        dist.DistributedDataParallel(module, **kwargs)
    for w in words:
        assert w in str(info.value)


def _fake_job(monkeypatch, world, fail=None):
    def init():
        if fail is not None:
            raise fail

    monkeypatch.setattr(dist, "init_process_group", init)
    monkeypatch.setattr(dist, "get_rank", lambda: 0)
    monkeypatch.setattr(dist, "get_world_size", lambda: world)


@pytest.mark.parametrize("world,fail,words", [
    (3, None, ["--batch-size: expected a multiple of the 3 ranks", "got 64"]),
    (1, ImportError("No module named 'mpi4py'"), ["--distributed: needs MPI", "cnncore[mpi]", "mpirun"]),
])
def test_cli_distributed_usage_errors(monkeypatch, capsys, world, fail, words):
    from cnncore.__main__ import main

    _fake_job(monkeypatch, world, fail)
    with pytest.raises(SystemExit) as info:
        main(["train", "--dataset", "digits", "--batch-size", "64", "--epochs", "1", "--distributed"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err
