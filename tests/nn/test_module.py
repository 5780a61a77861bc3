"""nn.Module, Parameter, Sequential, ModuleList: registration, traversal, state dicts, devices, modes, repr."""
from collections import OrderedDict

import numpy as np
import pytest

import tinygen as tg
import tinygen.functional as F
import tinygen.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(OrderedDict(fc1=nn.Linear(4, 3), act=nn.ReLU(), bn=nn.BatchNorm1d(3)))
        self.scale = nn.Parameter(tg.ones(1))
        self.register_buffer("step", tg.zeros(()))
        self.head = nn.Linear(3, 2, bias=False)
        self.note = "not a tensor"

    def forward(self, x):
        return self.head(self.encoder(x)) * self.scale


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = nn.Parameter(tg.randn(2, 3))
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf
    assert not nn.Parameter(tg.zeros(2), requires_grad=False).requires_grad
    assert type(p * 2) is tg.Tensor  # ops give plain tensors
    assert repr(p).startswith("Parameter containing:\ntensor(")
    t = tg.zeros(3)
    assert nn.Parameter(t).data is t.data  # shares the array, like PyTorch
    with pytest.raises(TypeError):
        nn.Parameter(tg.tensor([1, 2]))  # integers cannot require grad


def test_registration_order_and_names():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "encoder.fc1.weight", "encoder.fc1.bias", "encoder.bn.weight", "encoder.bn.bias", "head.weight"]
    assert [n for n, _ in net.named_buffers()] == [
        "step", "encoder.bn.running_mean", "encoder.bn.running_var", "encoder.bn.num_batches_tracked"]
    assert [n for n, _ in net.named_children()] == ["encoder", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "encoder", "encoder.fc1", "encoder.act", "encoder.bn", "head"]
    assert list(net.state_dict()) == [
        "scale", "step", "encoder.fc1.weight", "encoder.fc1.bias", "encoder.bn.weight", "encoder.bn.bias",
        "encoder.bn.running_mean", "encoder.bn.running_var", "encoder.bn.num_batches_tracked", "head.weight"]
    assert net.note == "not a tensor" and "note" not in dict(net.named_parameters())
    assert net.encoder.fc1 is net.encoder[0] and net.head.bias is None
    assert "head" in dir(net)


def test_state_dict_keys_match_pytorch():
    torch = pytest.importorskip("torch")
    tn = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.ConvTranspose2d(2, 1, 3)))
    m = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Sequential(nn.Conv2d(1, 2, 3),
                                                                        nn.ConvTranspose2d(2, 1, 3)))
    assert list(m.state_dict()) == list(tn.state_dict())
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tn.named_parameters()]
    assert all(tuple(v.shape) == tuple(tn.state_dict()[k].shape) for k, v in m.state_dict().items())
    assert m.num_parameters() == sum(p.numel() for p in tn.parameters())
    # and a PyTorch state dict loads as it is
    m.load_state_dict({k: v.numpy() for k, v in tn.state_dict().items()})
    np.testing.assert_array_equal(m[0].weight.numpy(), tn[0].weight.detach().numpy())


def test_reassignment_and_type_errors():
    net = Net()
    net.head = nn.Linear(3, 5)
    assert net.head.out_features == 5 and list(dict(net.named_children())) == ["encoder", "head"]
    with pytest.raises(TypeError, match="Parameter or None"):
        net.scale = tg.ones(1)
    net.scale = None
    assert "scale" not in dict(net.named_parameters())
    with pytest.raises(TypeError, match="buffer"):
        net.step = 3.0
    net.step = tg.ones(())
    assert float(net.state_dict()["step"]) == 1.0
    del net.head
    assert not hasattr(net, "head")

    class Forgot(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgot()


def test_shared_parameters_are_counted_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.Tanh(), lin)
    assert len(list(seq.parameters())) == 2
    assert seq.num_parameters() == 12
    assert len(list(seq.modules())) == 3


def test_state_dict_round_trip_and_detached_values():
    tg.manual_seed(0)
    a = Net()
    a(tg.randn(5, 4))  # moves the batch-norm running estimates
    sd = a.state_dict()
    assert all(not v.requires_grad for v in sd.values())
    tg.manual_seed(1)
    b = Net()
    assert not np.array_equal(b.head.weight.numpy(), a.head.weight.numpy())
    params_before = list(b.parameters())
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert list(b.parameters()) == params_before and all(x is y for x, y in zip(b.parameters(), params_before))
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), sd[k].numpy())
    # loaded values are copies: training a does not change b
    with tg.no_grad():
        a.head.weight.data[...] = 7.0
    assert not (b.head.weight.numpy() == 7.0).any()
    x = tg.randn(5, 4)
    a.eval(), b.eval()
    a.load_state_dict(b.state_dict())
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_load_state_dict_reports_every_problem_at_once():
    net = Net()
    sd = net.state_dict()
    del sd["encoder.fc1.bias"], sd["step"]
    sd["head.weight"] = tg.zeros(3, 2)
    sd["encoder.fc2.weight"] = tg.zeros(1)
    before = net.head.weight.numpy().copy()
    with pytest.raises(nn.StateDictError) as info:
        net.load_state_dict(sd)
    msg = str(info.value)
    for key in ("'encoder.fc1.bias'", "'step'", "'encoder.fc2.weight'", "'head.weight'", "(3, 2)", "(2, 3)"):
        assert key in msg, msg
    assert "2 missing keys" in msg and "1 unexpected key" in msg and "1 key with the wrong shape" in msg
    assert isinstance(info.value, ValueError)
    assert info.value.missing_keys == ["step", "encoder.fc1.bias"]
    assert info.value.unexpected_keys == ["encoder.fc2.weight"]
    assert info.value.mismatched_keys == [("head.weight", (3, 2), (2, 3))]
    np.testing.assert_array_equal(net.head.weight.numpy(), before)  # nothing was loaded
    # strict=False tolerates missing/unexpected keys but never a wrong shape
    with pytest.raises(nn.StateDictError, match="head.weight") as info:
        net.load_state_dict(sd, strict=False)
    assert "missing" not in str(info.value)
    sd["head.weight"] = np.ones((2, 3), dtype=np.float64)
    res = net.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["step", "encoder.fc1.bias"] and res.unexpected_keys == ["encoder.fc2.weight"]
    assert net.head.weight.dtype == "float32" and (net.head.weight.numpy() == 1).all()


@pytest.mark.parametrize("bad", [np.array(["a", "b", "c", "d", "e", "f"]).reshape(2, 3),
                                 np.full((2, 3), 1 + 1j), np.full((2, 3), "x", dtype=object)],
                         ids=["str", "complex", "object"])
def test_load_state_dict_changes_nothing_when_a_value_cannot_be_converted(bad):
    net = Net()
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    sd = {k: np.full(v.shape, 7, dtype=v.dtype) for k, v in before.items()}   # every value would change
    sd["head.weight"] = bad                                 # the last layer's: after all others
    with pytest.raises(nn.StateDictError, match=r"1 value that cannot be converted: 'head.weight'") as info:
        net.load_state_dict(sd)
    assert "\n" not in str(info.value)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=f"{k} was changed")


def test_to_dtype_keeps_the_same_parameter_objects():
    net = Net()
    params = list(net.parameters())
    net(tg.randn(3, 4)).sum().backward()
    assert net.to(dtype="float64") is net
    assert all(a is b for a, b in zip(net.parameters(), params))
    assert all(p.dtype == "float64" and p.grad.dtype == "float64" for p in net.parameters())
    assert net.encoder.bn.running_mean.dtype == "float64"
    assert net.encoder.bn.num_batches_tracked.dtype == "int64"  # only floating tensors are cast
    assert net(tg.randn(3, 4, dtype="float64")).dtype == "float64"
    net.to("float32")
    assert net.head.weight.dtype == "float32"
    net.float().double()
    assert net.head.weight.dtype == "float64"
    assert net.to("cpu") is net and net.head.weight.device == "cpu"
    if not tg.cuda_available():
        with pytest.raises(tg.DeviceError, match="CuPy|GPU"):
            net.to("cuda")
    with pytest.raises(TypeError):
        net.to(dtype="int64")


def test_to_moves_between_array_backends():
    # the code path of cpu <-> cuda, run without a GPU: a module made on NumPy arrays moved onto the
    # array_api_strict backend (what "cpu" computes with inside use_array_api_strict)
    from tinygen.backend import use_array_api_strict
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    w = net[0].weight
    net(tg.randn(4, 3)).sum().backward()
    with use_array_api_strict():
        net.to("cpu")
        assert net[0].weight is w
        assert all(type(t.data).__module__.startswith("array_api_strict") for t in net.state_dict().values())
        assert type(w.grad.data).__module__.startswith("array_api_strict")
        assert net(tg.randn(4, 3)).shape == (4, 2)


def test_train_eval_propagate_and_zero_grad():
    net = Net()
    assert net.training and net.encoder.bn.training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.encoder.train(False)
    assert net.training and not net.encoder.fc1.training
    net.train()
    net(tg.randn(3, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net(tg.randn(3, 4)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all((p.grad.numpy() == 0).all() for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_apply_visits_children_first():
    seen = []
    Net().apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "BatchNorm1d", "Sequential", "Linear", "Net"]

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)

    net = Net().apply(init)
    assert (net.head.weight.numpy() == 0.5).all()


def test_repr_shows_the_tree_and_counts():
    text = repr(Net())
    assert text.splitlines() == [
        "Net(",
        "  (encoder): Sequential(",
        "    (fc1): Linear(in_features=4, out_features=3, bias=True)  # 15 params",
        "    (act): ReLU()",
        "    (bn): BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)  # 6 params",
        "  )  # 21 params",
        "  (head): Linear(in_features=3, out_features=2, bias=False)  # 6 params",
        ")  # 28 params",
    ]
    assert repr(nn.Linear(784, 400)) == "Linear(in_features=784, out_features=400, bias=True)  # 314,000 params"
    assert repr(nn.ReLU()) == "ReLU()"


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[1], nn.Tanh) and isinstance(seq[-1], nn.Linear)
    sub = seq[:2]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[0] is seq[0]
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh", "Linear"]
    seq.append(nn.Sigmoid())
    assert list(dict(seq.named_children())) == ["0", "1", "2", "3"]
    assert seq(tg.randn(5, 2)).shape == (5, 1)
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.ReLU())
    assert len(ml) == 4 and [n for n, _ in ml.named_parameters()][:2] == ["0.weight", "0.bias"]
    ml[1] = nn.Identity()
    assert list(dict(ml.named_children())) == ["0", "1", "2", "3"] and isinstance(ml[1], nn.Identity)
    with pytest.raises(NotImplementedError):
        ml(tg.zeros(1))


def test_buffers_non_persistent_and_registration_errors():
    m = nn.Module()
    m.register_buffer("a", tg.zeros(2))
    m.register_buffer("tmp", tg.zeros(2), persistent=False)
    assert [n for n, _ in m.named_buffers()] == ["a", "tmp"] and list(m.state_dict()) == ["a"]
    with pytest.raises(TypeError):
        m.register_buffer("b", np.zeros(2))
    with pytest.raises(TypeError):
        m.register_parameter("w", tg.zeros(2))
    m.register_parameter("w", None)
    assert m.w is None and list(m.parameters()) == []
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        m.missing


def test_init_is_repeatable_with_manual_seed(backend):
    tg.manual_seed(123)
    a = Net()
    tg.manual_seed(123)
    b = Net()
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(va.numpy(), vb.numpy(), err_msg=k)
    c = Net()
    assert not np.array_equal(c.head.weight.numpy(), a.head.weight.numpy())


def test_a_dtype_cast_runs_on_each_array_s_own_device(backend):
    """``module.to("float64")`` while another device is current: CuPy refuses to compute on an array of one
    device inside another's scope (the test double does too), so each cast enters its array's device."""
    net = Net().to(backend.device)
    net.to("float64")
    assert all(p.dtype == tg.float64 and tg.backend.device_of(p.data) == backend.device for p in net.parameters())


def test_a_small_model_trains():
    tg.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    x = tg.randn(64, 2)
    y = (x[:, :1] * x[:, 1:2] > 0).float()
    losses = []
    for _ in range(200):
        loss = F.binary_cross_entropy_with_logits(net(x), y)
        net.zero_grad()
        loss.backward()
        with tg.no_grad():
            for p in net.parameters():
                p.data = p.data - 0.5 * p.grad.data
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]


def test_deepcopy_gives_an_independent_module():
    import copy
    a = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    b = copy.deepcopy(a)
    assert isinstance(b[0].weight, nn.Parameter) and b[0].weight is not a[0].weight
    b(tg.randn(4, 3)).sum().backward()
    assert a[0].weight.grad is None and b[0].weight.grad is not None
    assert int(a[1].num_batches_tracked) == 0 and int(b[1].num_batches_tracked) == 1


def test_parameters_come_in_named_parameters_order_with_shared_modules_once():
    shared = nn.Linear(3, 3)
    inner = nn.Sequential(nn.Linear(2, 3), shared, nn.ReLU())
    net = nn.Sequential(inner, nn.Sequential(shared, nn.Linear(3, 1)), nn.ModuleList([nn.Linear(1, 1), inner]))
    named = [p for _, p in net.named_parameters()]
    assert len(named) == 8 and [id(p) for p in net.parameters()] == [id(p) for p in named]
    assert [id(p) for p in net.parameters(recurse=False)] == []
