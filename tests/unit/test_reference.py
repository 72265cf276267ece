"""Reference data: a deployment's files merged with the bundled ones (real DuckDB, in memory), the
checks that name a bad file's row and column, and the declarations the dbt project and README
follow."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
import yaml

from csp_pipeline.core import reference
from csp_pipeline.core.reference import FILES, ReferenceDataError, bundled_rows, register_views
from csp_pipeline.core.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Settings

CLEVELAND = {r["la_code"] for r in bundled_rows("ref_areas")}
AREA_HEADER = list(FILES["ref_areas"].columns)


def write(folder: Path, name: str, rows: list[list[str]], header: list[str] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows([header or list(FILES[name].columns), *rows])


def merged(settings: Settings, name: str, *columns: str) -> set[tuple]:
    with duckdb.connect() as con:
        register_views(con, settings)
        cols = ", ".join(columns or FILES[name].columns)
        return set(con.execute(f"SELECT {cols} FROM {name}").fetchall())


def settings_with(**folders: Path) -> Settings:
    env = {"CSP_REFERENCE_DIR": str(folders["reference"])} if "reference" in folders else {}
    if "config" in folders:
        env["CSP_CONFIG_DIR"] = str(folders["config"])
    return Settings.from_env(env)


def test_without_a_deployment_the_bundled_rows_are_the_reference_data():
    plain = Settings.from_env({})
    assert {r[0] for r in merged(plain, "ref_areas", "la_code")} == CLEVELAND
    assert len(merged(plain, "ref_wards")) == len(bundled_rows("ref_wards"))
    assert len(merged(plain, "ref_lsoa_wards")) == len(bundled_rows("ref_lsoa_wards"))


def test_a_deployment_ref_areas_is_the_list_it_serves_and_drops_bundled_rows_of_others(tmp_path):
    write(tmp_path, "ref_areas", [["E06000023", "Bristol, City of", "Safer Bristol", "", ""]])
    write(tmp_path, "ref_wards", [["E05900001", "Illustrative ward", "E06000023"]])
    s = settings_with(reference=tmp_path)
    assert merged(s, "ref_areas", "la_code", "la_name") == {("E06000023", "Bristol, City of")}
    assert merged(s, "ref_wards") == {("E05900001", "Illustrative ward", "E06000023")}
    assert merged(s, "ref_populations") == set()  # Cleveland's are bundled rows of other areas
    assert len(merged(s, "ref_outcome_types")) == len(bundled_rows("ref_outcome_types"))


def test_other_files_add_rows_and_replace_bundled_rows_with_the_same_key(tmp_path):
    hartlepool = next(r for r in bundled_rows("ref_populations") if r["la_code"] == "E06000001")
    write(tmp_path, "ref_populations", [["E06000001", hartlepool["year"], "1", "2"],
                                        ["E06000001", "2031", "3", "4"]])
    s = settings_with(reference=tmp_path)
    rows = merged(s, "ref_populations")
    assert len(rows) == len(bundled_rows("ref_populations")) + 1
    assert ("E06000001", int(hartlepool["year"]), 1, 2) in rows
    assert ("E06000001", 2031, 3, 4) in rows
    assert {r[0] for r in merged(s, "ref_areas", "la_code")} == CLEVELAND  # not given: bundled


def test_a_blank_key_part_is_a_key_value_of_its_own(tmp_path):
    write(tmp_path, "ref_fire_unit_costs",
          [["Secondary fire", "", "All others fires not involving Buildings or Vehicles", "5000",
            "illustrative", "a deployment's own figure"]])
    rows = merged(settings_with(reference=tmp_path), "ref_fire_unit_costs",
                  "incident_type", "property_category", "unit_cost_gbp")
    assert ("Secondary fire", None, 5000) in rows
    assert ("Secondary fire", None, 4126) not in rows
    assert len(rows) == len(bundled_rows("ref_fire_unit_costs"))


def test_the_reference_dir_is_applied_after_the_config_folder(tmp_path):
    config = tmp_path / "deployment"
    write(config / "reference", "ref_areas", [["E06000022", "Bath", "", "", ""],
                                              ["E06000023", "Bristol", "", "", ""]])
    write(config / "reference", "ref_wards", [["E05900001", "Config name", "E06000022"],
                                              ["E05900002", "Kept", "E06000023"]])
    later = tmp_path / "later"
    write(later, "ref_wards", [["E05900001", "Later name", "E06000022"]])
    s = settings_with(config=config, reference=later)
    assert merged(s, "ref_wards") == {("E05900001", "Later name", "E06000022"),
                                      ("E05900002", "Kept", "E06000023")}
    assert reference.code_lists(s, ["ref_areas.la_code"]) == {
        "ref_areas__la_code": ["E06000022", "E06000023"]}


def test_load_deployment_stores_the_deployment_rows_for_dbt(tmp_path):
    write(tmp_path / "ref", "ref_wards", [["E05900001", "Illustrative", "E06000001"]])
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        counts = reference.load_deployment(con, settings_with(reference=tmp_path / "ref"))
        assert counts["ref_wards"] == 1 and counts["ref_areas"] == 0
        assert con.execute("SELECT * FROM deployment_reference.ref_wards").fetchall() == [
            ("E05900001", "Illustrative", "E06000001")]
        reference.load_deployment(con, Settings.from_env({}))  # the deployment withdrew it
        assert con.execute("SELECT count(*) FROM deployment_reference.ref_wards").fetchone() == (0,)


BAD = [
    ("ref_wards", [["E05900001", "A", "E06000001"], ["E05900001", "B", "E06000002"]], None,
     "ref_wards.csv rows 1, 2: key (ward_code=E05900001) appears more than once"),
    ("ref_wards", [["E05900001", "A", "E06000099"]], None,
     "ref_wards.csv row 1, column la_code: 'E06000099' is not in ref_areas.la_code"),
    ("ref_populations", [["E06000001", "2024", "12,000", "1"]], None,
     "ref_populations.csv row 1, column population_total: '12,000' is not a whole number"),
    ("ref_wards", [["", "A", "E06000001"]], None,
     "ref_wards.csv row 1, column ward_code: a value is required"),
    ("ref_wards", [["E05900001", "A"]], ["ward_code", "ward"],
     "missing: ['ward_name', 'la_code']; unexpected: ['ward']"),
    ("ref_areas", [], None, "ref_areas.csv: no rows"),
    ("ref_area", [["x"]], ["la_code"], "ref_area.csv: not a reference file"),
]


@pytest.mark.parametrize("name, rows, header, message", BAD, ids=[b[3][:40] for b in BAD])
def test_a_bad_deployment_file_is_refused_naming_its_row_column_and_rule(tmp_path, name, rows,
                                                                        header, message):
    write(tmp_path, name, rows, header)
    with pytest.raises(ReferenceDataError, match="^" + str(tmp_path)) as err:
        register_views(duckdb.connect(), settings_with(reference=tmp_path))
    assert message in str(err.value)


def test_a_missing_reference_dir_is_refused(tmp_path):
    with pytest.raises(ReferenceDataError, match="is not a folder"):
        reference.folders(settings_with(reference=tmp_path / "nowhere"))


# --- the declarations everything else follows ------------------------------------------------

def test_declarations_match_the_bundled_files():
    for f in FILES.values():
        with f.bundled.open(newline="") as fh:
            assert next(csv.reader(fh)) == list(f.columns), f.name
        for target in f.references.values():
            assert list(FILES).index(reference.split(target)[0].name) < list(FILES).index(f.name)


def test_every_reference_model_is_documented_with_its_key_tested():
    docs = {}
    for path in (DBT_PROJECT_DIR / "models" / "reference").glob("_*models.yml"):
        docs.update({m["name"]: m for m in yaml.safe_load(path.read_text())["models"]})
    for f in FILES.values():
        model = docs[f.name]
        assert model["description"], f.name
        columns = {c["name"]: c for c in model["columns"]}
        assert set(columns) == set(f.columns), f.name
        assert all(c.get("description") for c in columns.values()), f.name
        tests = [t for c in f.key for t in columns[c].get("data_tests", [])]
        tests += model.get("data_tests", [])
        assert "unique" in tests or any(
            isinstance(t, dict) and t.get("unique_combination", {}).get("arguments", {}).get(
                "columns") == list(f.key) for t in tests), f.name
        for column, target in f.references.items():
            assert {"relationships": {"arguments": {"to": f"ref('{target.split('.')[0]}')",
                                                    "field": target.split(".")[1]}}} in \
                columns[column]["data_tests"], (f.name, column)


def test_the_readme_documents_every_reference_file_and_column():
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme[readme.index("## Reference data"):]
    section = section[:section.index("\n## ", 4)]
    for f in FILES.values():
        assert f"`{f.file_name}`" in section, f.name
        for column in f.columns:
            assert f"`{column}`" in section, (f.name, column)
