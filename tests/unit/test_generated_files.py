"""The GE suites in expectations/ and the dbt sources are in step with feeds.yml."""

from csp_pipeline.transform.generated import stale_files


def test_generated_files_match_the_registry():
    assert stale_files() == [], "run `csp generated --write` and review the diff"


def test_dbt_tests_take_code_lists_from_feeds_yml():
    """An accepted_values test over a feeds.yml code list names it (`code_list('...')`) rather
    than typing the values again."""
    import yaml

    from csp_pipeline.core.registry import load_registry
    from csp_pipeline.core.settings import DBT_PROJECT_DIR

    lists = {frozenset(v): n for n, v in load_registry().code_lists.items()}

    def accepted_values(node):
        if isinstance(node, dict):
            if "accepted_values" in node:
                spec = node["accepted_values"] or {}
                yield (spec.get("arguments") or spec).get("values")
            for value in node.values():
                yield from accepted_values(value)
        elif isinstance(node, list):
            for value in node:
                yield from accepted_values(value)

    typed_again = [
        f"{path.relative_to(DBT_PROJECT_DIR)}: {lists[frozenset(values)]}"
        for path in sorted((DBT_PROJECT_DIR / "models").rglob("*.yml"))
        for values in accepted_values(yaml.safe_load(path.read_text()))
        if isinstance(values, list) and frozenset(map(str, values)) in lists]
    assert typed_again == [], "use values: \"{{ code_list('<name>') }}\""
