import pytest
import torch

import course_lib as cl
from course_lib import augment


def _images(n=4, size=8, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_each_d4_element_is_a_bijection_with_its_inverse():
    x = _images()
    seen = set()
    for e in range(8):
        y = augment.d4_transform(x, e)
        assert y.shape == x.shape
        assert torch.equal(augment.d4_transform(y, augment.d4_inverse(e)), x)
        seen.add(y.numpy().tobytes())
    assert len(seen) == 8  # the 8 elements are distinct on a generic image


def test_d4_is_closed_under_composition_cayley_table():
    x = _images(1, 6)
    images = [augment.d4_transform(x, e) for e in range(8)]
    for a in range(8):
        for b in range(8):
            composed = augment.d4_transform(augment.d4_transform(x, b), a)
            matches = [c for c in range(8) if torch.equal(composed, images[c])]
            assert len(matches) == 1, (a, b)
    assert augment.d4_inverse(1) == 3 and augment.d4_inverse(5) == 5


def test_d4_bad_inputs():
    with pytest.raises(ValueError, match="element"):
        augment.d4_transform(_images(), 8)
    with pytest.raises(ValueError, match="square"):
        augment.d4_transform(torch.rand(1, 3, 4, 6), 1)
    with pytest.raises(ValueError, match="element"):
        augment.d4_inverse(-1)
    with pytest.raises(TypeError, match="x"):
        augment.random_d4([1, 2])


def test_random_d4_applies_group_elements_and_is_seeded():
    x = _images(16)
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    a, b = augment.random_d4(x, g1), augment.random_d4(x, g2)
    assert torch.equal(a, b)
    for img, out in zip(x, a):
        assert any(torch.equal(augment.d4_transform(img[None], e)[0], out) for e in range(8))


def test_random_rotation_and_photometric():
    x = _images(8, 16)
    g = torch.Generator().manual_seed(0)
    assert torch.allclose(augment.random_rotation(0.0)(x, g), x, atol=1e-5)
    rotated = augment.random_rotation(30.0)(x, g)
    assert rotated.shape == x.shape and not torch.allclose(rotated, x)
    same = augment.photometric(0.0, 0.0)(x, g)
    assert torch.allclose(same, x)
    jittered = augment.photometric(0.2, 0.02)(x, g)
    ratio = (jittered.mean((1, 2, 3)) / x.mean((1, 2, 3)))
    assert float(ratio.min()) > 0.75 and float(ratio.max()) < 1.25
    both = augment.compose(augment.random_d4, augment.photometric(0.1, 0.0))(x, g)
    assert both.shape == x.shape
    with pytest.raises(ValueError, match="max_degrees"):
        augment.random_rotation(-1.0)
    with pytest.raises(ValueError, match="brightness"):
        augment.photometric(brightness=2.0)
    with pytest.raises(TypeError, match="compose"):
        augment.compose()


def test_fit_accepts_augmentations():
    x, y = cl.make_dish_dataset(64, image_size=16, seed=0)
    y = cl.Standardizer().fit(y).transform(y)
    hist = cl.fit(cl.SmallCNN(16, 1, width=4), (x / 255, y), epochs=1, augment=augment.random_d4, progress=False)
    assert hist.epochs == 1


def test_d4_invariant_model_is_invariant_and_plain_cnn_is_not():
    torch.manual_seed(0)
    vgg = cl.models.VGGLike(image_size=16, n_outputs=1, width=4)
    inv = augment.D4Invariant(vgg.features, vgg.head).eval()
    vgg.eval()
    x = _images(4, 16)
    with torch.no_grad():
        base, plain = inv(x), vgg(x)
        for e in range(8):
            out = inv(augment.d4_transform(x, e))
            assert torch.allclose(out, base, rtol=1e-4, atol=1e-6)
        for e in range(8):
            out = inv(augment.d4_transform(x, e))
            assert float(((out - base).abs() / base.abs().clamp_min(1e-8)).max()) < 1e-4
        cnn = cl.SmallCNN(16, 1, width=4, batch_norm=False).eval()
        ref = cnn(x)
        changes = [float(((cnn(augment.d4_transform(x, e)) - ref).abs() / ref.abs()).max()) for e in range(1, 8)]
    assert min(changes) > 1e-3, "a plain CNN's prediction changes under the transforms"
    del plain
    with pytest.raises(TypeError, match="features"):
        augment.D4Invariant("f", vgg.head)


def test_tta_predict_is_invariant():
    torch.manual_seed(0)
    model = cl.SmallCNN(16, 1, width=4)
    x = _images(4, 16)
    base = augment.tta_predict(model, x)
    for e in range(8):
        assert torch.allclose(augment.tta_predict(model, augment.d4_transform(x, e)), base, atol=1e-5)


def test_vgg_like_shapes_and_errors():
    m = cl.models.VGGLike(image_size=32, n_outputs=2, width=4)
    assert m(torch.zeros(2, 3, 32, 32)).shape == (2, 2)
    with pytest.raises(ValueError, match="image_size"):
        cl.models.VGGLike(image_size=30)


def test_dish_shape_cue_keeps_targets_and_changes_colour():
    x1, y1 = cl.make_dish_dataset(200, image_size=16, seed=0)
    x2, y2 = cl.make_dish_dataset(200, image_size=16, seed=0, cue="shape")
    assert torch.equal(y1, y2) and not torch.equal(x1, x2)


def test_rotate_by_a_right_angle_moves_whole_pixels_and_otherwise_interpolates():
    x = torch.rand(3, 2, 9, 9, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(augment.rotate(x, 90), x.rot90(1, (-2, -1)), atol=1e-5)
    assert torch.allclose(augment.rotate(x, 0), x, atol=1e-6)
    assert torch.allclose(augment.rotate(x, 180), x.rot90(2, (-2, -1)), atol=1e-5)
    blurred = augment.rotate(x, 45)
    assert blurred.shape == x.shape and blurred.std() < x.std()  # mixing pixels smooths the image
    with pytest.raises(ValueError, match="degrees"):
        augment.rotate(x, float("nan"))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        augment.rotate(x.numpy(), 10)


def test_random_rotation_turns_each_image_by_its_own_angle():
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    turned = augment.random_rotation(180)(x, torch.Generator().manual_seed(3))
    assert turned.shape == x.shape and not torch.allclose(turned, x)


def test_rotation_pooled_model_is_invariant_to_quarter_turns_only():
    torch.manual_seed(0)
    net = cl.SmallCNN(16, 1, width=4, batch_norm=False)
    pooled = cl.models.RotationPooled(net.features, net.head, turns=8).eval()
    x = _images(4, 16)
    with torch.no_grad():
        base = pooled(x)
        assert base.shape == (4, 1)
        quarter = pooled(torch.rot90(x, 1, dims=(-2, -1)))
        eighth = pooled(augment.rotate(x, 45))  # resampled: not the same copies
    assert float(((quarter - base).abs() / base.abs()).max()) < 1e-4
    assert float(((eighth - base).abs() / base.abs()).max()) > 1e-3
    with pytest.raises(ValueError, match="turns"):
        cl.models.RotationPooled(net.features, net.head, turns=1)
    with pytest.raises(TypeError, match="features"):
        cl.models.RotationPooled("f", net.head)
