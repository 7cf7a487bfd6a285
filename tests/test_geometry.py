"""Geometry on constructed embeddings whose R and D are known in closed form."""
import numpy as np
import pytest

from bench.scoring.geometry import geometry, inter_class_distance, intra_class_radius, language_centre_distances


def _pair(theta):
    return np.array([[np.cos(theta), np.sin(theta)], [np.cos(theta), -np.sin(theta)]])


def test_r_and_d_by_construction():
    # class 0: two points at angle ±t around (1,0); class 1: two points at ±t around (-1,0)
    t = 0.3
    a = _pair(t)
    b = -_pair(t)
    emb = np.vstack([a, b])
    classes = np.array([0, 0, 1, 1])
    # centres are (cos t, 0) and (-cos t, 0): radius sin t, centre distance 2 cos t
    assert intra_class_radius(emb, classes) == pytest.approx(np.sin(t))
    assert inter_class_distance(emb, classes) == pytest.approx(2 * np.cos(t))
    g = geometry(emb, classes, np.array(["en", "zh", "en", "zh"]))
    assert g["R/D"] == pytest.approx(np.tan(t) / 2)
    assert g["n_classes"] == 2


def test_collapsed_classes_have_zero_radius_and_unit_scale_is_enforced():
    emb = np.array([[2.0, 0.0], [5.0, 0.0], [0.0, 1.0], [0.0, 3.0]])  # re-normalized internally
    classes = np.array([7, 7, 9, 9])
    assert intra_class_radius(emb, classes) == pytest.approx(0.0)
    assert inter_class_distance(emb, classes) == pytest.approx(np.sqrt(2))


def test_singleton_classes_do_not_count_for_r_but_do_for_d():
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [-1.0, 0.0]])
    classes = np.array([0, 1, 1, 2])
    assert intra_class_radius(emb, classes) == pytest.approx(0.0)
    assert inter_class_distance(emb, classes) == pytest.approx((np.sqrt(2) + 2 + np.sqrt(2)) / 3)


def test_language_centres():
    emb = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    d = language_centre_distances(emb, np.array(["zh", "zh", "en"]))
    assert d == {"en-zh": pytest.approx(np.sqrt(2))}
