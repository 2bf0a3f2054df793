"""Report folder names: one per parameter set, so no run overwrites another's report."""

from hypothesis import given
from hypothesis import strategies as st

from analysis_lib.reports import folder_name

# a notebook's parameter takes values of its default's type
TYPED_PARAMETERS = {
    "stadsdeel": st.text(max_size=40),
    "a_b": st.text(alphabet="ab_-=,+%.~", max_size=8),
    "top_n": st.integers(),
    "drempel": st.floats(allow_nan=False),
    "open": st.booleans(),
    "categorieen": st.lists(st.text(alphabet="ab+[]", max_size=3), max_size=3),
}
PARAMETER_SETS = st.fixed_dictionaries({}, optional=TYPED_PARAMETERS)


def test_values_that_a_plain_slug_would_mix_up_get_folders_of_their_own():
    sets = [
        {"drempel": 3.5}, {"drempel": 3.75}, {"naam": "a b"}, {"naam": "a/b"}, {"naam": "a-b"}, {"naam": "a_b"},
        {"a": "x,b=y"}, {"a": "x", "b": "y"}, {"a": ["x", "y"]}, {"a": "x+y"}, {"naam": "x" * 200}, {"naam": "x" * 201},
        {"naam": "a~" + "0" * 16},  # a '~' as the mark of a cut name would be
    ]
    names = [folder_name(values) for values in sets]
    assert len(set(names)) == len(names)
    assert folder_name({"stadsdeel": "N", "start": "2024-03-01"}) == "stadsdeel=N,start=2024-03-01"


def test_names_stay_in_one_folder_and_under_the_limit():
    for value in ("..", "../../etc", "a/b\\c", "x" * 500, "ü" * 300):
        name = folder_name({"p": value})
        assert "/" not in name and "\\" not in name and len(name) <= 120


@given(PARAMETER_SETS, PARAMETER_SETS)
def test_different_parameter_sets_never_share_a_folder(first, second):
    if first != second and not (first.get("drempel") == 0.0 and second.get("drempel") == 0.0):  # 0.0 == -0.0
        assert folder_name(first) != folder_name(second)


def test_lists_and_their_items_are_told_apart():
    names = [folder_name({"a": value}) for value in (["x", "y"], ["x+y"], ["x"], ["y", "x"], [], [""], ["", ""])]
    assert len(set(names)) == len(names)
