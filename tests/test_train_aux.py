"""Training a model with auxiliary classifiers (GoogLeNet's training forward returns (logits, aux2,
aux1)): torchvision's recipe, loss = main + 0.3 * (aux1 + aux2), in cnncore.train.fit and in the
train command."""
import numpy as np
import pytest

import cnncore
from cnncore import data, models, optim, train
from cnncore.nn.loss import CrossEntropyLoss


def test_training_loss_adds_the_weighted_aux_losses():
    rng = np.random.default_rng(0)
    main, aux2, aux1 = (rng.standard_normal((4, 5)).astype(np.float32) for _ in range(3))
    labels = np.array([0, 4, 2, 1])
    crit = CrossEntropyLoss()
    loss, logits = train.training_loss((main, aux2, aux1), labels, crit)
    want = float(crit(main, labels)) + 0.3 * (float(crit(aux2, labels)) + float(crit(aux1, labels)))
    assert float(loss) == pytest.approx(want, rel=1e-6)
    assert logits is main
    loss, logits = train.training_loss(main, labels, crit)
    assert float(loss) == pytest.approx(float(crit(main, labels)), rel=1e-6) and logits is main
    loss, _ = train.training_loss((main, None, None), labels, crit)  # aux heads off: main loss only
    assert float(loss) == pytest.approx(float(crit(main, labels)), rel=1e-6)
    with pytest.raises(ValueError, match="outputs"):
        train.training_loss((), labels, crit)


def _fit_googlenet(aux_weight):
    cnncore.manual_seed(0)
    model = models.googlenet(num_classes=3)
    before = model.aux1.fc2.weight.data.copy(), model.fc.weight.data.copy()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 32, 32)).astype(np.float32)
    loader = data.DataLoader(x, np.array([0, 1, 2, 0]), batch_size=4, seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = train.fit(model, opt, loader, 1, progress=False, log=None, aux_weight=aux_weight)
    return model, before, history


def test_fit_trains_googlenet_aux_heads():
    model, (aux_before, fc_before), history = _fit_googlenet(0.3)
    assert np.isfinite(history["train_loss"][0])
    assert not np.array_equal(model.aux1.fc2.weight.data, aux_before)  # the aux heads got gradients
    assert not np.array_equal(model.fc.weight.data, fc_before)
    model, (aux_before, _), _ = _fit_googlenet(0.0)
    assert np.array_equal(model.aux1.fc2.weight.data, aux_before)  # weight 0: no gradient reaches them
