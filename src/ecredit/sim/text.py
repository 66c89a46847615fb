"""Chinese text: names, categories, listing titles and review pools.

The pools are fixed (they do not depend on the seed); the seed only decides which entry a row gets. No
text contains an ASCII comma, quote or line break, so CSV cells never need quoting.
"""

from __future__ import annotations

import functools
import itertools
import random
from dataclasses import dataclass

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉文辉鹏飞海燕晓东春梅"
TRADE_WORDS = ["泉城", "齐鲁", "海岱", "蓬莱", "泰岳", "鲁源", "黄河", "沂蒙", "琅琊", "孔府", "半岛", "渤海"]
BRAND_CHARS = "鑫盛恒泰源丰瑞祥达兴隆昌宏嘉和信福安康宁华润佳美优品诚悦启航德正汇通聚德金禾"
ROADS = ["经十", "泉城", "解放", "人民", "建设", "胜利", "和平", "文化", "工业", "幸福", "新华", "黄河"]


@dataclass(frozen=True)
class Category:
    name: str
    goods: tuple[str, ...]  # words for company names
    nouns: tuple[str, ...]  # products
    price_median_cents: int
    price_sigma: float
    weight_grams: int  # median parcel weight of one item


CATEGORIES: tuple[Category, ...] = (
    Category(
        "食品",
        ("特产", "食品", "茶业", "果业"),
        ("烟台苹果", "莱阳梨", "章丘大葱", "乐陵金丝小枣", "沂蒙煎饼", "日照绿茶", "潍坊萝卜", "德州扒鸡"),
        6800,
        0.6,
        2500,
    ),
    Category(
        "服装",
        ("服饰", "纺织", "鞋业"),
        ("纯棉T恤", "牛仔裤", "羽绒服", "运动鞋", "针织衫", "连衣裙", "卫衣", "棉袜"),
        12900,
        0.7,
        600,
    ),
    Category(
        "家居",
        ("家居", "日用品", "五金"),
        ("收纳盒", "四件套", "保温杯", "拖把", "毛巾", "抱枕", "餐具套装", "晾衣架"),
        5900,
        0.8,
        1200,
    ),
    Category(
        "数码",
        ("电子", "数码", "科技"),
        ("蓝牙耳机", "充电宝", "数据线", "手机壳", "智能手表", "机械键盘", "无线鼠标", "移动硬盘"),
        15900,
        0.9,
        400,
    ),
    Category(
        "美妆",
        ("日化", "美妆"),
        ("面膜", "洗面奶", "口红", "防晒霜", "护手霜", "精华液", "洗发水", "沐浴露"),
        8900,
        0.6,
        350,
    ),
    Category(
        "母婴",
        ("母婴用品", "婴童"),
        ("纸尿裤", "奶瓶", "婴儿湿巾", "儿童绘本", "宝宝辅食", "安抚玩具"),
        9900,
        0.6,
        1500,
    ),
    Category(
        "运动",
        ("体育用品", "户外"),
        ("瑜伽垫", "跳绳", "哑铃", "羽毛球拍", "登山包", "速干衣"),
        11900,
        0.8,
        900,
    ),
)
CATEGORY_WEIGHTS = (0.22, 0.22, 0.16, 0.14, 0.12, 0.07, 0.07)

_ADJ = ["新款", "正品", "加厚", "大容量", "家用", "便携", "官方", "精选", "特惠", "经典", "升级款", "限定"]
_SPEC = ["", "礼盒装", "2件装", "家庭装", "L码", "500g", "黑色", "白色", "套装", "组合装", "小号", "大号"]

# Review phrases: honest reviews are assembled from an opening, a remark on the product and a closing.
_POS_OPEN = ["宝贝收到了", "第二次购买了", "物流很快", "包装很严实", "给家里人买的", "朋友推荐来的",
             "等了几天终于到了", "活动价入手", "价格实惠", "客服很耐心", "一直在这家买"]  # fmt: skip
_POS_BODY = ["{n}质量很好", "{n}和描述一致", "{n}做工不错", "{n}性价比很高", "{n}比实体店便宜",
             "{n}用着很顺手", "{n}没有异味", "{n}很实用", "{n}挺好的", "{n}超出预期"]  # fmt: skip
_POS_CLOSE = ["会回购的", "推荐购买", "五星好评", "下次还来", "很满意", "值得入手", "好评", "赞"]
_MID_OPEN = ["一般般", "还行吧", "凑合用", "中规中矩", "没有想象中好"]
_MID_BODY = ["{n}有点小瑕疵", "{n}和图片有色差", "{n}包装有点简陋", "发货有点慢", "{n}尺寸偏小"]
_MID_CLOSE = ["看后续使用情况", "价格还算可以", "再观察一下", "勉强接受"]
_NEG_OPEN = ["很失望", "差评", "不推荐", "上当了"]
_NEG_BODY = ["{n}质量太差", "{n}收到就是坏的", "{n}和描述严重不符", "物流太慢了", "客服不理人",
             "{n}有股怪味", "{n}用了两天就坏了"]  # fmt: skip
_NEG_CLOSE = ["不会再买了", "大家慎重", "已申请退货", "浪费钱"]
# Bought reviews: long generic praise, few templates, near-duplicates (what MinHash finds).
_FAKE = [
    "好评！质量非常好，与卖家描述的完全一致，非常满意，真的很喜欢，完全超出期望值，发货速度非常快，"
    "包装非常仔细严实，物流公司服务态度很好，运送速度很快，很满意的一次购物",
    "宝贝非常好，质量超级棒，卖家服务态度好，发货速度快，物流也很给力，五星好评",
    "东西收到了，包装很好，质量很不错，和图片上的一样，卖家人很好，推荐大家购买，好评",
    "非常好的一次购物体验，{n}质量很好，做工精细，价格实惠，物流快，客服热情，强烈推荐",
    "收到货了，{n}特别好，超出预期，已经推荐给朋友了，还会再来的，五星好评",
    "质量很好，物美价廉，{n}和描述的一样，卖家服务好，物流很快，非常满意",
]
_FAKE_SUFFIX = ["", "！", "！！", "，赞", "，必须好评", "，五星", "~", "，好评返现已收到"]
_EXTORTION = [
    "收到的{n}是坏的，质量太差了，假货！必须退款，不然投诉到12315",
    "{n}有严重质量问题，要求全额退款并赔偿，否则给你们家全部差评",
    "垃圾商家，{n}和描述完全不符，已经截图保存证据，不赔偿就举报到市场监管局",
    "{n}三无产品，怀疑是假货，我要求退一赔三，不处理就投诉平台",
    "买到假货了，{n}根本不能用，商家必须给个说法，不退款就一直差评",
]
_FOLLOW_UP = ["用了一段时间了，{n}还是很好用", "追评：{n}质量经得起考验", "用了一周，没发现问题",
              "追加评价：有点小问题，但客服处理及时", "回购了，{n}还是一样好",
              "用久了{n}有点掉色"]  # fmt: skip
_FOLLOW_UP_EXTORTION = ["商家已经处理了，问题解决", "已协商解决，撤回差评", "商家态度还行，已经赔偿了"]


class FastRandom(random.Random):
    """``random.Random`` with cheaper ``choice`` and ``randrange`` (one float draw each); seeded runs
    stay reproducible."""

    def choice(self, seq):  # type: ignore[override]
        return seq[int(self.random() * len(seq))]

    def randrange(self, start, stop=None, step=1):  # type: ignore[override]
        if stop is None:
            start, stop = 0, start
        return start + int(self.random() * (stop - start))

    def randint(self, a, b):  # type: ignore[override]
        return a + int(self.random() * (b - a + 1))


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def brand_word(rng: random.Random) -> str:
    return rng.choice(BRAND_CHARS) + rng.choice(BRAND_CHARS)


def _check(texts: list[str]) -> list[str]:
    for t in texts:
        if any(c in t for c in ',"\n\r'):
            raise ValueError(f"text pool entry would need CSV quoting: {t!r}")
    return texts


@dataclass(frozen=True)
class Pools:
    """Text pools as flat lists with offsets, by product noun (numbered across all categories).

    A listing of noun ``g`` takes ``titles[title_offsets[g] + k]``; a review of it in bucket ``b`` takes
    ``reviews[review_offsets[g][b] + k]``.
    """

    noun_category: list[int]  # category index of each noun
    category_nouns: list[list[int]]  # noun ids of each category
    titles: list[str]
    title_offsets: list[int]
    title_counts: list[int]
    reviews: list[str]
    review_offsets: list[list[int]]
    review_counts: list[list[int]]


# Review buckets: negative (1-2 stars), mid (3), positive (4-5), fake praise, extortion, follow-up,
# follow-up after an extortion refund.
BUCKET_NEG, BUCKET_MID, BUCKET_POS, BUCKET_FAKE, BUCKET_EXTORTION, BUCKET_FOLLOW, BUCKET_FOLLOW_EXT = range(7)
N_BUCKETS = 7


def _assemble(opens: list[str], bodies: list[str], closes: list[str], noun: str, rng: random.Random, k: int):
    combos = list(itertools.product(opens, bodies, closes))
    rng.shuffle(combos)
    out = []
    for o, b, c in combos[:k]:
        end = rng.choice(["", "。", "！"])
        out.append(f"{o}，{b.format(n=noun)}，{c}{end}")
    return out


def _bucket(bucket: int, noun: str, rng: random.Random) -> list[str]:
    if bucket == BUCKET_NEG:
        return _assemble(_NEG_OPEN, _NEG_BODY, _NEG_CLOSE, noun, rng, 40)
    if bucket == BUCKET_MID:
        return _assemble(_MID_OPEN, _MID_BODY, _MID_CLOSE, noun, rng, 40)
    if bucket == BUCKET_POS:
        return _assemble(_POS_OPEN, _POS_BODY, _POS_CLOSE, noun, rng, 150)
    if bucket == BUCKET_FAKE:
        return [t.format(n=noun) + s for t in _FAKE for s in _FAKE_SUFFIX]
    if bucket == BUCKET_EXTORTION:
        return [t.format(n=noun) for t in _EXTORTION]
    if bucket == BUCKET_FOLLOW:
        return [t.format(n=noun) for t in _FOLLOW_UP]
    return list(_FOLLOW_UP_EXTORTION)


@functools.cache
def pools() -> Pools:
    rng = random.Random("ecredit.sim.text")
    noun_category: list[int] = []
    category_nouns: list[list[int]] = []
    titles: list[str] = []
    t_off: list[int] = []
    t_cnt: list[int] = []
    reviews: list[str] = []
    r_off: list[list[int]] = []
    r_cnt: list[list[int]] = []
    for c, cat in enumerate(CATEGORIES):
        category_nouns.append([])
        for noun in cat.nouns:
            category_nouns[c].append(len(noun_category))
            noun_category.append(c)
            t_off.append(len(titles))
            for adj, spec in itertools.product(_ADJ, _SPEC):
                word = rng.choice(TRADE_WORDS)
                titles.append(f"{word}{adj}{noun}{(' ' + spec) if spec else ''}")
            t_cnt.append(len(titles) - t_off[-1])
            offs, cnts = [], []
            for bucket in range(N_BUCKETS):
                offs.append(len(reviews))
                reviews += _bucket(bucket, noun, rng)
                cnts.append(len(reviews) - offs[-1])
            r_off.append(offs)
            r_cnt.append(cnts)
    _check(titles)
    _check(reviews)
    return Pools(noun_category, category_nouns, titles, t_off, t_cnt, reviews, r_off, r_cnt)
