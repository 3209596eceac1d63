import pytest
import torch

import course_lib as cl


def test_keras_box_cnn_matches_the_question():
    m = cl.models.KerasBoxCNN(image_size=32)
    convs = [c for c in m.modules() if isinstance(c, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128]
    assert all(c.kernel_size == (5, 5) and c.stride == (2, 2) for c in convs)
    linears = [c for c in m.modules() if isinstance(c, torch.nn.Linear)]
    assert [c.out_features for c in linears] == [100, 2]
    assert all(float(c.bias.detach().abs().sum()) == 0 for c in convs + linears)
    assert m(torch.zeros(4, 3, 32, 32)).shape == (4, 2)
    wide = cl.models.KerasBoxCNN(image_size=16, hidden=400)
    assert cl.models.output_layer(wide).in_features == 400
    with pytest.raises(ValueError, match="hidden"):
        cl.models.KerasBoxCNN(hidden=0)


@pytest.mark.parametrize("pool", ["flatten", "avg"])
def test_small_cnn_shapes(pool):
    m = cl.SmallCNN(image_size=16, n_outputs=3, width=4, pool=pool, dropout=0.1)
    assert m(torch.zeros(2, 3, 16, 16)).shape == (2, 3)
    assert cl.count_parameters(m) > 0


def test_model_bad_arguments():
    with pytest.raises(ValueError, match="image_size"):
        cl.SmallCNN(image_size=30)
    with pytest.raises(ValueError, match="pool"):
        cl.SmallCNN(pool="max")
    with pytest.raises(ValueError, match="n_outputs"):
        cl.models.KerasBoxCNN(n_outputs=0)
    with pytest.raises(ValueError, match="dropout"):
        cl.SmallCNN(dropout=1.5)
    with pytest.raises(TypeError, match="width"):
        cl.SmallCNN(width=2.0)


def test_init_output_bias_and_output_layer():
    m = cl.SmallCNN(image_size=16, n_outputs=2, width=4)
    cl.init_output_bias(m, torch.tensor([3.0, -1.0]))
    assert torch.equal(cl.models.output_layer(m).bias.detach(), torch.tensor([3.0, -1.0]))
    cl.init_output_bias(m, 5.0)
    assert torch.equal(cl.models.output_layer(m).bias.detach(), torch.tensor([5.0, 5.0]))
    with pytest.raises(ValueError, match="entries"):
        cl.init_output_bias(m, torch.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        cl.init_output_bias(m, float("nan"))
    with pytest.raises(ValueError, match="Linear"):
        cl.models.output_layer(torch.nn.ReLU())
    with pytest.raises(TypeError, match="model"):
        cl.models.output_layer("model")
    with pytest.raises(TypeError, match="model"):
        cl.count_parameters(None)


def test_small_resnet_shapes_depth_and_errors():
    model = cl.models.SmallResNet(16, 2, width=4, in_channels=1)
    assert model(torch.rand(3, 1, 16, 16)).shape == (3, 2)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) == 13
    block = cl.models.ResidualBlock(4, 4)
    with torch.no_grad():
        for p in block.body.parameters():
            p.zero_()
    x = torch.rand(2, 4, 8, 8)
    assert torch.allclose(block(x), x)  # a zeroed body passes the input through (x >= 0)
    assert cl.models.ResidualBlock(4, 8, stride=2)(x).shape == (2, 8, 4, 4)
    with pytest.raises(ValueError, match="stride"):
        cl.models.ResidualBlock(4, 4, stride=3)
    with pytest.raises(ValueError, match="image_size"):
        cl.models.SmallResNet(12)


def test_inception_net_shapes_branches_and_errors():
    model = cl.models.InceptionNet(16, 2, width=4, in_channels=1)
    assert model(torch.rand(5, 1, 16, 16)).shape == (5, 2)
    block = cl.models.InceptionBlock(6, 3)
    assert block(torch.rand(2, 6, 8, 8)).shape == (2, 12, 8, 8)  # four branches of 3 channels, same size
    kernels = sorted({m.kernel_size for m in block.modules() if isinstance(m, torch.nn.Conv2d)})
    assert kernels == [(1, 1), (3, 3), (5, 5)]  # three scales in one layer
    assert cl.count_parameters(cl.models.InceptionNet(16, 1, width=4)) < cl.count_parameters(cl.SmallCNN(16, 1, width=8))
    with pytest.raises(ValueError, match="width"):
        cl.models.InceptionNet(16, width=0)
    with pytest.raises(ValueError, match="image_size"):
        cl.models.InceptionNet(12)


def test_msd_net_keeps_every_map_and_dilates():
    model = cl.models.MSDNet(n_outputs=1, width=4, depth=10, in_channels=3, max_dilation=5)
    assert model(torch.rand(3, 3, 16, 16)).shape == (3, 1)
    assert model(torch.rand(3, 3, 20, 12)).shape == (3, 1)  # any image size: no pooling until the end
    dilations = [layer[0].dilation[0] for layer in model.layers]
    assert dilations == [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]
    assert [layer[0].in_channels for layer in model.layers][:3] == [3, 7, 11]  # dense: all earlier maps
    assert model.head.in_features == 3 + 10 * 4
    with pytest.raises(ValueError, match="depth"):
        cl.models.MSDNet(depth=0)
    with pytest.raises(ValueError, match="x must have shape"):
        model(torch.rand(3, 16, 16))
