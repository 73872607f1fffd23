from flags.diff import diff_summary, json_diff


def test_it_lists_changed_leaves_with_paths() -> None:
    before = {"enabled": False, "default": {"variant": "off"}, "rules": []}
    after = {"enabled": True, "default": {"variant": "on"}, "rules": []}
    assert json_diff(before, after) == [
        {"path": "enabled", "before": False, "after": True},
        {"path": "default.variant", "before": "off", "after": "on"},
    ]


def test_it_matches_rules_by_id_and_reports_reordering() -> None:
    a = {"id": "a", "serve": {"variant": "x"}}
    b = {"id": "b", "serve": {"variant": "y"}}
    b2 = {"id": "b", "serve": {"variant": "z"}}
    changes = json_diff({"rules": [a, b]}, {"rules": [b2, a]})
    assert {"path": "rules[id=b].serve.variant", "before": "y", "after": "z"} in changes
    assert {
        "path": "rules (order)",
        "before": ["id=a", "id=b"],
        "after": ["id=b", "id=a"],
    } in changes


def test_it_reports_added_and_removed_items() -> None:
    changes = json_diff({"rules": [{"id": "a"}]}, {"rules": [{"id": "b"}]})
    assert {"path": "rules[id=a]", "before": {"id": "a"}, "after": None} in changes
    assert {"path": "rules[id=b]", "before": None, "after": {"id": "b"}} in changes
    assert diff_summary(changes) == "changed rules[id=a], rules[id=b]"
    assert diff_summary([]) == "no changes"
