"""Property fuzzing of every public adapter and geometry function: whatever comes in (junk, empty, ragged, wrong
width, NaN/inf, huge, zero-norm, nearly valid or valid data), the function returns or raises a typed
``CosmosRoboticsError`` -- never a numpy/scipy/Python exception. 1,000 examples per function here; the ``slow``
variant runs 10,000.

Valid inputs are included on purpose (rigid poses, encoded chunks), so the deep code paths run too, and their
results are checked for the one property every success must have: finite output of the documented shape.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.spatial.transform import Rotation

from cosmos_robotics import geometry
from cosmos_robotics.embodiments import RobotCommand, get_adapter, get_domain
from cosmos_robotics.embodiments.droid import compose_concat_view
from cosmos_robotics.errors import ClampWarning, CosmosRoboticsError

CI_EXAMPLES, SLOW_EXAMPLES = 1000, 10_000

# -- what callers could pass --------------------------------------------------------------------------------------
LEAF = st.one_of(st.integers(-(10**30), 10**30), st.floats(), st.booleans(), st.text(max_size=3), st.none())
NESTED = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=4), max_leaves=24)
DTYPES = st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.bool_, np.complex128, "<U2"])
ANY_ARRAY = hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
SPECIAL = st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-300, 1e300, -1e300, np.nan, np.inf, -np.inf])
FLOATS = st.one_of(st.floats(-10, 10), st.floats(-1e6, 1e6), SPECIAL)


@st.composite
def rigid_poses(draw, min_n: int = 0, max_n: int = 40) -> np.ndarray:
    n = draw(st.integers(min_n, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    rot = Rotation.random(n, random_state=seed).as_matrix() if n else np.zeros((0, 3, 3))
    scale = draw(st.sampled_from([1e-4, 0.01, 1.0, 100.0]))
    return geometry.pose_matrix(rot, rng.normal(scale=scale, size=(n, 3)))


def near(tail: tuple[int, ...], max_n: int = 40):
    """Arrays of the right trailing shape with any values (special ones included), or one dim off."""
    right = st.integers(0, max_n).flatmap(lambda n: hnp.arrays(np.float64, (n, *tail), elements=FLOATS))
    wrong = (*tail[:-1], tail[-1] + 1) if tail else (2,)
    off = st.integers(0, 6).flatmap(lambda n: hnp.arrays(np.float64, (n, *wrong), elements=FLOATS))
    single = hnp.arrays(np.float64, tail, elements=FLOATS)
    return st.one_of(right, off, single)


def anything(tail: tuple[int, ...], valid=None):
    options = [NESTED, ANY_ARRAY, near(tail), near(tail).map(lambda a: a.tolist())]
    if valid is not None:
        options += [valid, valid]  # weighted: reach the deep paths often
    return st.one_of(*options)


POSES = anything((4, 4), rigid_poses())
ROT = anything((3, 3), rigid_poses(1, 10).map(lambda p: p[:, :3, :3]))


def _check_success(result) -> None:
    """A decoded command must be finite and serialisable (a robot would execute it)."""
    if isinstance(result, RobotCommand):
        for part in (result.poses, result.gripper, result.joint_positions):
            assert part is None or np.isfinite(part).all()
        result.to_json()
        if result.poses is not None:
            assert np.isfinite(result.cartesian).all()


def _encoded(name: str, draw) -> np.ndarray:
    """A chunk that decodes: encoded from valid poses (nearly always accepted by ``decode``)."""
    adapter = get_adapter(name)
    if name == "droid_joint":
        n = draw(st.integers(1, 40))
        mid = (np.array([-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973]) +
               np.array([2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973])) / 2
        rows = mid + draw(hnp.arrays(np.float64, (n, 7), elements=st.floats(-1.5, 1.5)))
        return np.column_stack([rows, draw(hnp.arrays(np.float64, (n,), elements=st.floats(0, 1)))])
    poses = draw(rigid_poses(2, 40))
    grip = None if not adapter.has_gripper else np.full(len(poses) - 1, 0.05 if name == "umi" else 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClampWarning)
        return adapter.encode_poses(poses, grip)


@st.composite
def encoded(draw, name: str) -> np.ndarray:
    return _encoded(name, draw)


def actions_for(name: str):
    return st.one_of(anything((get_adapter(name).action_dim,)), encoded(name), encoded(name))


def columns_for(name: str):
    adapter = get_adapter(name)
    junk = st.one_of(NESTED, st.dictionaries(st.text(max_size=5), NESTED, max_size=3))
    if not adapter.lerobot_columns:
        return junk
    widths = {"droid": (6, None), "umi": (7, None)}[name]

    @st.composite
    def columns(draw):
        n = draw(st.integers(0, 30))
        out = {}
        for column, width in zip(adapter.lerobot_columns, widths, strict=True):
            out[column] = draw(st.one_of(near((width,) if width else ()), NESTED,
                                         hnp.arrays(np.float64, (n, width) if width else (n,), elements=FLOATS)))
        if draw(st.booleans()):
            out.pop(draw(st.sampled_from(adapter.lerobot_columns)))
        return out

    return st.one_of(columns(), junk)


# -- the public functions, each with a strategy for its arguments --------------------------------------------------
ADAPTERS = ("av", "droid", "droid_joint", "umi")
POSE_ADAPTERS = ("av", "droid", "umi")
INTS = st.one_of(st.integers(-5, 50), LEAF)
IMAGES = st.one_of(ANY_ARRAY, NESTED, hnp.arrays(np.uint8, st.tuples(st.integers(0, 2), st.integers(0, 9),
                                                                      st.integers(0, 9), st.sampled_from([3, 4]))))

TARGETS: dict[str, tuple] = {
    # geometry
    "rot6d_from_matrix": (geometry.rot6d_from_matrix, ROT),
    "matrix_from_rot6d": (geometry.matrix_from_rot6d, anything((6,))),
    "rot6d_orthonormality_error": (geometry.rot6d_orthonormality_error, anything((6,))),
    "pose_matrix": (geometry.pose_matrix, ROT, anything((3,))),
    "invert_pose": (geometry.invert_pose, POSES),
    "relative_poses": (geometry.relative_poses, POSES),
    "right_multiply_rotation": (geometry.right_multiply_rotation, POSES, ROT),
    "rotation_orthonormality_error": (geometry.rotation_orthonormality_error, POSES),
    "compose_cumulative": (geometry.compose_cumulative, POSES),
    "integrate_relative": (geometry.integrate_relative, POSES, st.one_of(st.none(), POSES)),
    "pose9d_from_matrix": (geometry.pose9d_from_matrix, POSES),
    "matrix_from_pose9d": (geometry.matrix_from_pose9d, anything((9,))),
    "euler_xyz_to_matrix": (geometry.euler_xyz_to_matrix, anything((3,))),
    "matrix_to_euler_xyz": (geometry.matrix_to_euler_xyz, ROT),
    "quat_wxyz_to_matrix": (geometry.quat_wxyz_to_matrix, anything((4,))),
    "quat_xyzw_to_matrix": (geometry.quat_xyzw_to_matrix, anything((4,))),
    "matrix_to_quat_wxyz": (geometry.matrix_to_quat_wxyz, ROT),
    "matrix_to_quat_xyzw": (geometry.matrix_to_quat_xyzw, ROT),
    # registry and shared helpers
    "get_adapter": (get_adapter, st.one_of(st.sampled_from(["av", "droid", "umi", "droid_lerobot"]), LEAF, NESTED)),
    "get_domain": (get_domain, st.one_of(st.sampled_from(["av", "pusht", "droid_lerobot"]), LEAF, NESTED)),
    "compose_concat_view": (compose_concat_view, IMAGES, IMAGES, IMAGES),
}
for _name in ADAPTERS:
    _a = get_adapter(_name)
    TARGETS |= {
        f"{_name}.as_array": (lambda v, a=_a: a.as_array(v, "values", (None, 3)), anything((3,))),
        f"{_name}.check_mode": (_a.check_mode, st.one_of(st.sampled_from(["policy", "forward_dynamics"]), LEAF)),
        f"{_name}.validate_model_actions": (_a.validate_model_actions, actions_for(_name)),
        f"{_name}.validate_chunk": (_a.validate_chunk, actions_for(_name)),
        f"{_name}.normalize": (_a.normalize, actions_for(_name)),
        f"{_name}.denormalize": (_a.denormalize, actions_for(_name)),
        f"{_name}.check_range": (lambda v, a=_a: a.check_range(v, "values", 0.0, 1.0, 0.05), anything(())),
        f"{_name}.decode": (_a.decode, actions_for(_name),
                            st.none() if _name == "droid_joint" else st.one_of(st.none(), anything((4, 4)))),
        f"{_name}.decode_rollout": (_a.decode_rollout, actions_for(_name), st.none()),
        f"{_name}.check_views": (_a.check_views, st.one_of(LEAF, st.dictionaries(
            st.sampled_from([*_a.cameras, "other"]), IMAGES, max_size=4))),
        f"{_name}.compose_views": (_a.compose_views, st.one_of(LEAF, st.dictionaries(
            st.sampled_from([*_a.cameras, "other"]), IMAGES, max_size=4))),
        f"{_name}.split_views": (_a.split_views, IMAGES),
        f"{_name}.image": (lambda v, a=_a: a.image(v, "image"), IMAGES),
    }
for _name in POSE_ADAPTERS:
    _a = get_adapter(_name)
    _grip = st.one_of(st.none(), anything((), hnp.arrays(np.float64, st.integers(0, 40), elements=st.floats(0, 0.2))))
    TARGETS |= {
        f"{_name}.validate_poses": (_a.validate_poses, POSES),
        f"{_name}.encode_poses": (_a.encode_poses, POSES, _grip),
        f"{_name}.to_model_frame": (_a.to_model_frame, POSES),
        f"{_name}.from_model_frame": (_a.from_model_frame, POSES),
        f"{_name}.gripper_to_model": (_a.gripper_to_model, anything(())),
        f"{_name}.gripper_from_model": (_a.gripper_from_model, anything(())),
    }
    TARGETS |= {
        f"{_name}.encode_columns": (_a.encode_columns, columns_for(_name)),
        f"{_name}.encode_lerobot_window": (_a.encode_lerobot_window, columns_for(_name), INTS,
                                           st.one_of(st.none(), INTS)),
    }
_droid, _umi, _av, _joint = (get_adapter(n) for n in ("droid", "umi", "av", "droid_joint"))
_CARTESIAN = anything((6,), hnp.arrays(np.float64, st.integers(0, 30).map(lambda n: (n, 6)),
                                       elements=st.floats(-3, 3)))
TARGETS |= {
    "droid.poses_from_cartesian": (_droid.poses_from_cartesian, _CARTESIAN),
    "droid.encode_window": (_droid.encode_window, _CARTESIAN, anything(())),
    "droid.decode_from_cartesian": (_droid.decode_from_cartesian, actions_for("droid"), anything((6,))),
    "umi.encode_trajectory": (_umi.encode_trajectory, anything((7,)), anything(())),
    "av.poses_from_car_frame": (_av.poses_from_car_frame, POSES),
    "droid_joint.check_joints": (lambda j: _joint.check_joints(j, "joints"), anything((7,))),
    "droid_joint.encode_state": (_joint.encode_state, anything((7,)), st.one_of(st.floats(-1, 2), anything(()))),
}


def _run(name: str, examples: int) -> None:
    function, *strategies = TARGETS[name]

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(st.tuples(*strategies))
    def check(args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ClampWarning / overflow RuntimeWarning are allowed, exceptions are not
            try:
                result = function(*args)
            except CosmosRoboticsError:
                return
        _check_success(result)

    check()


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_public_function_raises_only_typed_errors(name):
    _run(name, CI_EXAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_public_function_raises_only_typed_errors_slow(name):
    _run(name, SLOW_EXAMPLES)


def test_every_public_function_is_fuzzed():
    """The list above covers every public function of geometry and every public adapter method."""
    import inspect

    geometry_public = {n for n, f in inspect.getmembers(geometry, inspect.isfunction)
                       if not n.startswith("_") and f.__module__ == geometry.__name__}
    assert geometry_public <= set(TARGETS)
    for name in ADAPTERS:
        adapter = get_adapter(name)
        methods = {n for n, _ in inspect.getmembers(adapter, inspect.ismethod) if not n.startswith("_")}
        missing = {m for m in methods if f"{name}.{m}" not in TARGETS} - {"check_columns"}
        assert not missing, f"{name}: {sorted(missing)} not fuzzed"
