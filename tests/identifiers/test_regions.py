from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import ecredit.identifiers as identifiers_pkg
from ecredit.identifiers import check_region, region_name, region_prefecture
from ecredit.identifiers.regions import region_records, region_table

from .support import codes, fullwidth

DATA = Path(identifiers_pkg.__file__).with_name("data")

SHANDONG = {
    "3701": "济南市",
    "3702": "青岛市",
    "3703": "淄博市",
    "3704": "枣庄市",
    "3705": "东营市",
    "3706": "烟台市",
    "3707": "潍坊市",
    "3708": "济宁市",
    "3709": "泰安市",
    "3710": "威海市",
    "3711": "日照市",
    "3712": "莱芜市",
    "3713": "临沂市",
    "3714": "德州市",
    "3715": "聊城市",
    "3716": "滨州市",
    "3717": "菏泽市",
}


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_regions", DATA / "build_regions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_csv_matches_stdnum_loc_dat():
    builder = _load_builder()
    expected = builder.render_csv(builder.build_rows(builder.read_loc_dat()))
    assert (DATA / "regions.csv").read_text(encoding="utf-8") == expected


def test_builder_parses_multi_name_entries():
    builder = _load_builder()
    text = (
        '37 province="山东省"\n  2200 county="[-1980]昌潍地区,[1981-1982]潍坊地区"\n  0100 county="济南市"\n'
    )
    assert builder.build_rows(text) == [
        ("370000", "山东省", "", ""),
        ("370100", "济南市", "", ""),
        ("372200", "昌潍地区", "", "1980"),
        ("372200", "潍坊地区", "1981", "1982"),
    ]


def test_table_size_and_levels():
    table = region_table()
    assert len(table) > 6800
    assert all(len(code) == 6 and code.isascii() and code.isdigit() for code in table)
    provinces = [code for code in table if code.endswith("0000")]
    assert len(provinces) == 34
    assert region_name("370000") == "山东省"


@pytest.mark.parametrize(("prefix", "name"), sorted(SHANDONG.items()))
def test_all_shandong_prefectures_present(prefix, name):
    code = prefix + "00"
    assert any(record.name == name for record in region_records(code))
    assert region_name(code) == "山东省" + name
    assert check_region(code).valid


def test_laiwu_is_historical():
    (record,) = region_records("371200")
    assert (record.name, record.start_year, record.end_year) == ("莱芜市", 1992, 2018)
    result = check_region("371200")
    assert result.valid
    assert codes(result.warnings) == ["region.abolished"]


def test_region_names():
    assert region_name("370102") == "山东省济南市历下区"
    assert region_name("371082") == "山东省威海市荣成市"
    assert region_name("110105") == "北京市朝阳区"  # the 市辖区 level is left out
    assert region_name("371202") == "山东省莱芜市莱城区"
    assert region_name("372200") == "山东省潍坊地区"  # latest of its two names
    assert region_name(fullwidth("370102")) == "山东省济南市历下区"
    assert region_name("379999") is None
    assert region_name("37010") is None
    assert region_name("٣70102") is None


def test_region_prefecture():
    assert region_prefecture("370102") == "370100"
    assert region_prefecture("370100") == "370100"
    assert region_prefecture("371202") == "371200"
    assert region_prefecture("370000") is None
    assert region_prefecture("379999") is None
    assert region_prefecture("abc") is None


def test_check_region():
    result = check_region("370102")
    assert result.valid
    assert result.normalized == "370102"
    assert result.warnings == ()
    assert codes(check_region("379999").errors) == ["region.unknown"]
    assert codes(check_region("37010").errors) == ["region.length"]
    assert codes(check_region("37O102").errors) == ["region.invalid_character"]
    assert codes(check_region("").errors) == ["format.empty"]
    assert codes(check_region(fullwidth("370102")).warnings) == ["format.fullwidth"]
