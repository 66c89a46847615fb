import pytest

from ecredit.security.masking import (
    MASK_KINDS,
    PII_PATTERNS,
    find_pii,
    mask,
    mask_address,
    mask_bank_account,
    mask_id_number,
    mask_phone,
)


class TestMaskIdNumber:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("370102199001011238", "370102********1238"),
            ("37010219900101123X", "370102********123X"),
            ("37010219900101123x", "370102********123x"),
            (" 370102199001011238 ", "370102********1238"),
            ("３７０１０２１９９００１０１１２３８", "370102********1238"),
            ("370102900101123", "370102******123"),
            ("1234", "****"),
            ("3701021990010112", "****************"),
            ("3701021990010112389", "*******************"),
            ("37010219900101123Y", "******************"),
            ("ABCDEFGHIJKLMNOPQR", "******************"),
            ("", ""),
            (None, None),
        ],
    )
    def test_examples(self, value, expected):
        assert mask_id_number(value) == expected

    def test_masked_value_has_no_clear_id(self):
        assert find_pii(mask_id_number("370102199001011238")) == []


class TestMaskPhone:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("13812345678", "138****5678"),
            ("138 1234 5678", "138****5678"),
            ("138-1234-5678", "138****5678"),
            ("+86 138 1234 5678", "138****5678"),
            ("+8613812345678", "138****5678"),
            ("0531-88886666", "0531-******66"),
            ("0531 88886666", "0531-******66"),
            ("053188886666", "0531-******66"),
            ("010-12345678", "010-******78"),
            ("0633-1234567", "0633-*****67"),
            ("12345678901", "***********"),
            ("400-123-4567", "************"),
            ("12345", "*****"),
            ("", ""),
            (None, None),
        ],
    )
    def test_examples(self, value, expected):
        assert mask_phone(value) == expected


class TestMaskAddress:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("山东省济南市历下区泉城路1号", "山东省济南市历下区****"),
            ("山东省荣成市成山大道1号", "山东省荣成市****"),
            ("山东省威海市荣成市石岛管理区黄海路", "山东省威海市荣成市****"),
            ("山东省济南市市中区经四路", "山东省济南市市中区****"),
            ("山东省德州市德城区天衢路", "山东省德州市德城区****"),
            ("广东省广州市天河区天河路", "广东省广州市天河区****"),
            ("北京市朝阳区建国路1号", "北京市朝阳区****"),
            ("上海市浦东新区世纪大道100号", "上海市浦东新区****"),
            ("内蒙古自治区锡林郭勒盟锡林浩特市额尔敦路", "内蒙古自治区锡林郭勒盟锡林浩特市****"),
            ("新疆维吾尔自治区阿克苏地区阿克苏市人民路", "新疆维吾尔自治区阿克苏地区阿克苏市****"),
            ("湖北省恩施土家族苗族自治州恩施市舞阳大道", "湖北省恩施土家族苗族自治州恩施市****"),
            ("安徽省马鞍山市和县历阳镇", "安徽省马鞍山市和县****"),
            ("湖北省神农架林区松柏镇", "湖北省神农架林区****"),
            ("山东济南历下区泉城路", "山东济南历下区****"),
            ("江苏省苏州市人民路88号", "江苏省苏州市****"),
            ("济南市幸福小区3号楼", "济南市****"),
            ("济南市泉城广场超市", "济南市****"),
            ("山东省济南市历下区", "山东省济南市历下区"),
            ("泉城路1号院3单元", "****"),
            ("朝阳区建国路1号", "****"),
            ("Room 5, 12 Main St", "****"),
            ("", ""),
            (None, None),
        ],
    )
    def test_examples(self, value, expected):
        assert mask_address(value) == expected


class TestMaskBankAccount:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("6222021234567890123", "****0123"),
            ("6222 0212 3456 7890", "****7890"),
            ("12345678", "****5678"),
            ("1234567", "****"),
            ("1234", "****"),
            ("", "****"),
            (None, None),
        ],
    )
    def test_examples(self, value, expected):
        assert mask_bank_account(value) == expected


class TestMask:
    @pytest.mark.parametrize(
        ("kind", "value", "expected"),
        [
            ("id_number", "370102199001011238", "370102********1238"),
            ("phone", "13812345678", "138****5678"),
            ("address", "山东省济南市历下区泉城路1号", "山东省济南市历下区****"),
            ("bank_account", "6222021234567890123", "****0123"),
        ],
    )
    def test_dispatch(self, kind, value, expected):
        assert mask(kind, value) == expected

    @pytest.mark.parametrize("kind", sorted(MASK_KINDS))
    def test_none_is_none(self, kind):
        assert mask(kind, None) is None

    def test_unknown_kind_is_refused(self):
        with pytest.raises(ValueError, match="unknown mask kind"):
            mask("name", "张三")

    def test_non_str_is_refused(self):
        with pytest.raises(TypeError):
            mask_phone(13812345678)


class TestFindPii:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("身份证370102199001011238", ["370102199001011238"]),
            ("id=37010219900101123X;", ["37010219900101123X"]),
            ("id=37010219900101123x", ["37010219900101123x"]),
            ("电话13812345678，联系", ["13812345678"]),
            ("a 13812345678 b 370102199001011238", ["13812345678", "370102199001011238"]),
            ("370102199001011238 then 13812345678", ["370102199001011238", "13812345678"]),
            ("full width １３８１２３４５６７８", ["13812345678"]),
            ("x13812345678y", ["13812345678"]),
        ],
    )
    def test_hits(self, text, expected):
        assert find_pii(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "order 1370102199001011238",  # 19-digit run: an 18-digit number inside it is not an ID
            "3701021990010112385",
            "order 01234567890123456789",
            "12812345678",  # second digit 2: not a mobile
            "138123456789",  # 12-digit run
            "0138123456789",
            "370102********1238",
            "138****5678",
            "USCC 91370100MA3C5X1234",
            "2026-11-28T09:16:00Z",
        ],
    )
    def test_non_hits(self, text):
        assert find_pii(text) == []

    def test_patterns_are_exposed(self):
        assert set(PII_PATTERNS) == {"id_number", "phone"}
        assert PII_PATTERNS["phone"].search("tel 13812345678")
        assert PII_PATTERNS["id_number"].search("370102199001011238")
