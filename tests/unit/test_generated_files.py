"""The GE suites in expectations/ and the dbt sources are in step with feeds.yml."""

from csp_pipeline.transform.generated import stale_files


def test_generated_files_match_the_registry():
    assert stale_files() == [], "run `csp generated --write` and review the diff"
