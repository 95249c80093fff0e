"""Near-duplicate detection: both sides of THRESHOLD on realistic 政务 texts.

Every article here was written for these tests. Variants are generated from one base
article the way portals republish it; the kept-apart cases are the hard ones in practice:
two reports of one meeting, parts of one series, notices from one template.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata

import pytest

from scraper.archive import dedup
from scraper.archive.dedup import (
    BANDS,
    MIN_CHARS,
    NUM_PERM,
    SHINGLE,
    THRESHOLD,
    Signature,
    band_keys,
    best_match,
    digest,
    fingerprint,
    groupable,
    is_same_work,
    normalize,
    signature,
    signature_from_bytes,
    signature_to_bytes,
    similarity,
)

# ---------------------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------------------

BASE_TITLE = "我市出台20条措施促进民营经济高质量发展"
BASE_PARAS = [
    "5月20日，记者从市政府新闻办召开的新闻发布会上获悉，市政府近日印发《关于进一步促进"
    "民营经济高质量发展的若干措施》（以下简称《若干措施》），从市场准入、要素保障、融资支持、"
    "权益保护、政企沟通等方面提出20条具体举措，着力破解民营企业发展中遇到的堵点难点问题，"
    "进一步激发民营经济发展活力。",
    "市发展改革委主任张立新介绍，截至2023年底，全市共有民营经营主体38.6万户，民营经济"
    "贡献了全市60%以上的税收、70%以上的地区生产总值和80%以上的城镇劳动就业。但也要看到，"
    "当前民营企业仍面临市场需求不足、融资难融资贵、账款拖欠等困难，部分政策落实存在“最后"
    "一公里”梗阻。制定出台《若干措施》，就是要坚持问题导向，用真招实策稳预期、强信心。",
    "在放宽市场准入方面，《若干措施》明确，全面落实市场准入负面清单制度，清单之外的行业、"
    "领域、业务等各类经营主体皆可依法平等进入。支持民营企业参与重大项目建设，每年滚动推出"
    "总投资不低于500亿元的项目清单向民间资本推介。政府采购项目预留面向中小企业采购的份额，"
    "400万元以下的工程采购项目原则上全部预留给中小企业。",
    "在强化要素保障方面，《若干措施》提出，优先保障民营企业重点项目用地需求，对符合条件的"
    "产业项目可采取长期租赁、先租后让、弹性年期供应等方式供地。支持民营企业引进高层次人才，"
    "对新引进的博士、硕士研究生分别给予每月3000元、2000元的生活补贴，最长补贴3年。完善"
    "用电用水用气报装服务，低压小微企业用电报装实现“零上门、零审批、零投资”。",
    "在加大融资支持方面，《若干措施》要求，引导银行机构加大对民营企业信贷投放，力争全年"
    "民营企业贷款增速不低于各项贷款平均增速。市级财政安排2亿元设立中小微企业转贷应急资金，"
    "为企业提供低成本过桥服务，单笔额度最高1000万元。扩大政府性融资担保覆盖面，担保费率"
    "降至1%以下，对单户担保金额500万元及以下的小微企业降至0.8%以下。",
    "在加强权益保护方面，《若干措施》强调，依法平等保护民营企业产权和企业家合法权益，防止"
    "和纠正利用行政或刑事手段干预经济纠纷。建立防范和化解拖欠中小企业账款长效机制，机关、"
    "事业单位和大型企业不得违约拖欠中小企业货款、工程款。规范涉企行政检查，推行“综合查"
    "一次”，同一部门对同一企业的检查原则上每年不超过1次。",
    "在畅通政企沟通方面，《若干措施》明确，健全市、县两级领导干部联系服务民营企业制度，"
    "定期召开民营企业座谈会，面对面听取意见建议。依托12345政务服务便民热线设立企业诉求"
    "专席，企业反映的问题原则上3个工作日内答复、15个工作日内办结。张立新表示，下一步，"
    "市发展改革委将会同有关部门抓好《若干措施》宣传解读和贯彻落实，确保各项政策直达快享、"
    "落地见效。",
]

MEETING_TITLE = "全省防汛抗旱工作电视电话会议"
MEETING_PROVINCE = [
    "5月28日，全省防汛抗旱工作电视电话会议在省城召开。省委副书记、省长王建国出席会议并"
    "讲话，副省长李华明主持会议，省水利厅厅长陈志远通报了今年以来全省水雨情和防汛准备工作"
    "情况。会议以电视电话会议形式开至县（市、区）。",
    "王建国指出，今年以来全省降水时空分布不均，南部地区降水偏多三成，北部地区旱情露头，"
    "气象部门预测主汛期我省可能出现旱涝并存、旱涝急转的局面。各地各部门要清醒认识防汛抗旱"
    "形势的严峻性复杂性，坚决克服麻痹思想和侥幸心理，把确保人民群众生命财产安全放在第一位。",
    "王建国强调，要扎实做好汛前准备，对水库、堤防、山洪灾害危险区、地质灾害隐患点、城市"
    "易涝点开展拉网式排查，发现问题立行立改，一时难以整改的要落实度汛措施。要加强监测预报"
    "预警，完善气象、水文、自然资源等部门会商研判机制，提高预报精度，延长预见期，确保预警"
    "信息第一时间直达基层、直达群众。",
    "王建国要求，要突出抓好中小水库和病险水库安全度汛，严格落实行政责任人、技术责任人、"
    "巡查责任人“三个责任人”，病险水库原则上主汛期一律空库运行。要强化山洪灾害防御，提前"
    "转移危险区群众，做到应转尽转、应转早转。要统筹抓好抗旱工作，科学调度水利工程，保障"
    "城乡供水安全和农业灌溉用水。",
    "李华明在主持会议时要求，各地各有关部门要迅速传达贯彻会议精神，压紧压实防汛抗旱责任，"
    "严格执行汛期24小时值班和领导带班制度，确保信息畅通、指挥有力。应急、水利、自然资源、"
    "住建、交通运输等部门要加强协同配合，提前预置抢险队伍和物资装备，一旦发生险情灾情，"
    "确保第一时间响应、高效有序处置。",
    "陈志远在通报中说，截至5月底，全省已完成水毁水利工程修复1260处，储备防汛编织袋、"
    "救生衣、冲锋舟等物资折合资金4.3亿元，组建各类抢险队伍2100余支、12万余人。下一步，"
    "省水利厅将加密水库、河道巡查频次，对重要堤防实行分段包保，确保关键时刻拉得出、冲得上、"
    "打得赢。",
    "会议还对全省防汛抗旱物资储备、应急抢险队伍建设等工作作了部署。省防汛抗旱指挥部各成员"
    "单位负责同志在主会场参加会议。",
]
MEETING_CITY = [
    "5月28日下午，我市在市分会场组织收听收看全省防汛抗旱工作电视电话会议。会上，省委副"
    "书记、省长王建国作了讲话，副省长李华明主持会议，省水利厅厅长陈志远通报了全省水雨情和"
    "防汛准备工作情况。",
    "全省会议结束后，市委副书记、市长赵文斌就贯彻落实会议精神、做好我市防汛抗旱工作提出"
    "具体要求。赵文斌指出，我市地处淮河流域，境内河流众多、水库塘坝密布，防汛任务历来繁重。"
    "今年入汛以来，我市已出现4次强降雨过程，累计降水量较常年同期偏多两成，部分河道水位持续"
    "偏高，防汛形势不容乐观。",
    "赵文斌要求，全市上下要认真贯彻落实全省防汛抗旱工作电视电话会议精神，按照省长王建国的"
    "讲话要求，立即开展新一轮隐患排查，重点检查全市76座小型水库、126公里重点堤防和城区18处"
    "易涝点，建立问题清单，明确整改时限，6月10日前全部整改到位。",
    "赵文斌强调，要加强城市防汛排涝能力建设，加快推进老城区雨污分流改造和排水管网清淤疏通，"
    "配足配强移动泵车等排涝设备，汛期实行地下车库、下穿通道、低洼小区等重点部位专人值守。"
    "要加强与气象部门的联动，暴雨预警发布后，相关区域中小学校、建筑工地等要按规定停课停工。",
    "赵文斌要求，各县区、各部门主要负责同志要切实履行防汛第一责任人职责，汛期原则上不得离开"
    "辖区，确需离开的要严格履行报备手续。市防指各成员单位要按照职责分工密切配合，市应急管理局"
    "要牵头做好应急物资调拨和抢险救援力量统筹，确保我市安全度汛。",
    "会议结束后，赵文斌带领市水利、应急等部门负责同志来到城东水库和淮河干流城区段，实地检查"
    "防汛准备情况。在城东水库，他详细查看溢洪道、放水涵闸运行状况，询问水库调度方案和巡查值守"
    "安排，要求严格落实汛限水位控制，严禁超汛限蓄水。",
    "副市长、市防指常务副指挥长孙建平，市直有关部门负责同志在市分会场参加会议。各县区设立分会场。",
]

SERIES_INTRO = (
    "编者按：党的二十大报告提出，全面推进乡村振兴，坚持农业农村优先发展，巩固拓展脱贫攻坚"
    "成果，加快建设农业强国。今年以来，我市深入学习运用“千万工程”经验，因地制宜推进乡村"
    "产业振兴、人才振兴、文化振兴、生态振兴、组织振兴，涌现出一批各具特色的和美乡村。即日起，"
    "本网开设“乡村振兴看变化”专栏，走进田间地头，记录乡村新貌，展现奋进新征程的生动实践。"
)
SERIES_OUTRO = (
    "乡村振兴，既要塑形，也要铸魂。下一步，我市将继续坚持以产业兴旺为重点、生态宜居为关键、"
    "乡风文明为保障、治理有效为基础、生活富裕为根本，持续加大政策、资金、人才等要素投入，"
    "推动更多村庄从“一处美”迈向“一片美”，从“环境美”迈向“发展美”，让农民群众的获得感、"
    "幸福感、安全感更加充实、更有保障、更可持续。"
)
SERIES_MIDDLES = [
    [
        "初夏时节，走进青石镇青山村，层层叠叠的茶园沿山势铺展开来，茶农们正忙着采摘夏茶。"
        "“以前茶叶卖给收购商，一斤鲜叶才几块钱；现在村里建起了加工厂，注册了自己的品牌，一斤"
        "干茶能卖到三四百元。”村党支部书记刘志强一边查看茶叶长势，一边向记者介绍。",
        "近年来，青山村依托海拔高、雾气足的自然条件，由村集体牵头成立茶叶专业合作社，流转土地"
        "2300亩，统一品种、统一管理、统一收购、统一销售，带动全村186户茶农增收。2023年，全村"
        "茶叶产值达到4800万元，村集体经济收入突破120万元，农民人均可支配收入达到2.6万元，比"
        "五年前翻了一番。",
        "茶产业兴了，茶文化也热了起来。村里利用闲置农房改造了12家民宿，开发出采茶体验、制茶"
        "研学等项目，去年接待游客8万多人次。“周末民宿基本订满，光民宿一项一年就有十几万元"
        "收入。”返乡创业的90后村民王小燕笑着说。",
    ],
    [
        "傍晚时分，沿着河湾村新修的滨河步道漫步，清澈的河水缓缓流淌，白鹭不时掠过水面，村民们"
        "三三两两在广场上跳舞、下棋。很难想象，几年前这里还是垃圾随处可见、污水直排入河的"
        "“脏乱差”村。",
        "转变始于一场人居环境整治。河湾村“两委”班子挨家挨户上门做工作，发动党员群众拆除违章"
        "搭建和废旧棚舍400余处，清理河道淤泥1.2万立方米，新建污水处理站2座，实现生活污水集中"
        "收集处理。村里还推行垃圾分类“积分制”，村民分类投放可兑换生活用品，垃圾分类准确率从"
        "不足三成提高到九成以上。",
        "环境变美了，发展的路子也宽了。河湾村引进社会资本打造田园综合体，发展稻渔共生、休闲垂钓"
        "等新业态，吸纳本村200多名群众在家门口就业。“过去年轻人都往外跑，现在不少人回来了。”"
        "村党总支书记陈国华说，今年村里计划再建设一处农产品直播基地，让好山好水变成“真金白银”。",
    ],
    [
        "走进石桥村新时代文明实践站，墙上的“红黑榜”格外醒目，好婆媳、好邻里、文明家庭的照片和"
        "事迹一一展示。村民李大娘说：“上了红榜，全村人都知道，比发奖金还光荣。”",
        "石桥村曾是远近闻名的“上访村”，邻里纠纷多、干群关系紧张。近年来，村党支部推行“党员"
        "联户”制度，每名党员联系10至15户群众，定期走访收集诉求，小事不出网格、大事不出村。村里"
        "还修订完善村规民约，成立红白理事会，对婚丧嫁娶的宴席规模、礼金标准作出明确规定，刹住了"
        "大操大办、铺张浪费之风。",
        "治理有效了，人心也聚了起来。去年以来，石桥村群众自发筹资筹劳修建村内道路3.5公里，安装"
        "路灯160盏，连续三年实现“零上访”。村党支部书记周建明表示，石桥村将把“积分制”管理与"
        "乡村治理深度融合，让村民从“旁观者”变成“参与者”，共建共治共享美好家园。",
    ],
]

# Two notices from one template: the salutation, the guiding-ideology sentence, all of
# section 三 (工作要求) and the closing are shared word for word; the substance differs.
_NOTICE_OPENING = (
    "各县（市、区）人民政府，市政府各部门、各直属机构：\n"
    "为深入贯彻落实党中央、国务院和省委、省政府决策部署，{purpose}，经市政府同意，决定在全市"
    "范围内开展{activity}。现将有关事项通知如下："
)
_NOTICE_GUIDE = (
    "一、总体要求\n以习近平新时代中国特色社会主义思想为指导，全面贯彻党的二十大和二十届二中、"
    "三中全会精神，坚持以人民为中心的发展思想，统筹发展和安全，坚持问题导向、目标导向、结果"
    "导向，{goal}"
)
_NOTICE_REQUIREMENTS = (
    "三、工作要求\n（一）加强组织领导。各地各部门要高度重视，将此项工作列入重要议事日程，主要"
    "负责同志亲自抓、负总责，制定具体实施方案，明确责任分工和时间节点，确保各项任务落到实处。\n"
    "（二）强化宣传引导。要充分利用报刊、广播、电视、政府网站和政务新媒体等平台，广泛宣传活动"
    "的重要意义、主要内容和经验做法，营造全社会共同参与的良好氛围。\n"
    "（三）注重总结提升。要及时总结工作中的好经验好做法，建立健全长效机制，推动工作常态化、"
    "制度化、规范化。\n"
    "（四）及时报送信息。请各地各部门明确1名联络员，于{date}前将联络员名单报送{office}；活动"
    "结束后10个工作日内报送工作总结。联系人：{contact}，电话：{phone}。"
)
_NOTICE_CLOSING = "{issuer}\n2024年5月{day}日\n（此件公开发布）"

NOTICE_SAFETY = "\n".join(
    [
        "关于开展2024年全市“安全生产月”活动的通知",
        _NOTICE_OPENING.format(
            purpose="进一步强化安全发展理念，有效防范遏制重特大生产安全事故",
            activity="2024年“安全生产月”活动",
        ),
        _NOTICE_GUIDE.format(
            goal="以“人人讲安全、个个会应急——畅通生命通道”为主题，全面提升全民安全素质和"
            "全社会安全水平，为全市经济社会高质量发展营造良好安全环境。"
        ),
        "二、主要内容\n（一）开展主要负责人安全公开课。6月份，各县（市、区）政府和市直有关部门"
        "主要负责人要结合分管领域，围绕安全生产法律法规和典型事故案例，至少讲授1次安全公开课。\n"
        "（二）开展生命通道集中治理。重点对人员密集场所、高层建筑、老旧小区的消防通道和安全出口"
        "开展排查，坚决清理占用、堵塞、封闭疏散通道和安全出口等问题。\n"
        "（三）开展应急演练活动。各类生产经营单位要针对重大风险点和事故多发环节，组织开展"
        "“人人会应急”实战化演练，检验预案的针对性和可操作性。\n"
        "（四）开展“安全宣传咨询日”活动。6月16日，各地要在人员密集的广场、公园设立咨询点，"
        "集中开展安全知识咨询、应急技能展示、隐患举报受理等活动。",
        _NOTICE_REQUIREMENTS.format(
            date="6月5日", office="市安委办", contact="王磊", phone="0551-62801234"
        ),
        _NOTICE_CLOSING.format(issuer="市安全生产委员会办公室", day="28"),
    ]
)
NOTICE_FOOD = "\n".join(
    [
        "关于开展2024年全市食品安全宣传周活动的通知",
        _NOTICE_OPENING.format(
            purpose="进一步提升食品安全治理能力，切实保障人民群众“舌尖上的安全”",
            activity="2024年食品安全宣传周活动",
        ),
        _NOTICE_GUIDE.format(
            goal="以“尚俭崇信　守护安全”为主题，落实“四个最严”要求，推动食品安全社会共治，"
            "不断增强人民群众的获得感、幸福感、安全感。"
        ),
        "二、主要内容\n（一）举办启动仪式。宣传周期间，市食安办将联合市市场监管局在市民广场举办"
        "启动仪式，现场开展食品快检演示、营养健康咨询和反食品浪费倡议等活动。\n"
        "（二）开展主题日活动。各成员单位按照职责分工，分别组织开展农产品质量安全、粮食质量安全、"
        "学校食品安全、餐饮食品安全等主题日活动，每个主题日至少组织1场集中宣传。\n"
        "（三）推进“放心食品”进社区。组织食品生产经营企业开放生产车间和后厨，邀请消费者代表"
        "现场观摩，宣传食品安全标准和企业主体责任。\n"
        "（四）加强舆论监督。对群众反映强烈的食品安全问题，依法从严查处并及时公开曝光，形成有效"
        "震慑。",
        _NOTICE_REQUIREMENTS.format(
            date="6月10日", office="市食安办", contact="李娜", phone="0551-62805678"
        ),
        _NOTICE_CLOSING.format(issuer="市食品安全委员会办公室", day="30"),
    ]
)


def article(paras: list[str], title: str = "", indent: str = "　　") -> str:
    """An article body as a page shows it: title, then indented paragraphs."""
    lines = [title] if title else []
    lines += [indent + p for p in paras]
    return "\n".join(lines)


BASE = article(BASE_PARAS, BASE_TITLE)
MEETING_A = article(MEETING_PROVINCE, MEETING_TITLE + "召开")
MEETING_B = article(MEETING_CITY, "我市组织收听收看" + MEETING_TITLE)
SERIES = [
    article([SERIES_INTRO, *middle, SERIES_OUTRO], f"乡村振兴看变化（之{n}）")
    for n, middle in zip("一二三", SERIES_MIDDLES, strict=True)
]

# ---------------------------------------------------------------------------------------
# Variants of BASE, the way portals republish it
# ---------------------------------------------------------------------------------------

_HALF_WIDTH = str.maketrans("，。：；！？（）“”、", ',.:;!?()""\\')
_FULL_DIGITS = str.maketrans("0123456789%", "０１２３４５６７８９％")


def respaced(text: str) -> str:
    """Half-width punctuation, full-width digits, other indents and stray spaces."""
    text = text.translate(_HALF_WIDTH).translate(_FULL_DIGITS)
    text = text.replace("　　", "\u00a0\u00a0 ").replace("\n", "\r\n\r\n")
    return re.sub("(民营|企业|措施)", r" \1 ", text)


HEADER = "来源：市人民政府网站　　发布时间：2024-05-21 09:30　　【字体：大 中 小】　　浏览：1286"
TRAILER = [
    "责任编辑：王敏",
    "免责声明：本网转载此文出于传递更多信息之目的，并不意味着赞同其观点或证实其描述。如涉及"
    "版权问题，请与本网联系。",
    "分享到：微信　微博　QQ空间",
    "【打印本页】【关闭窗口】",
]
EDITOR_NOTE = (
    "编者按：民营经济是推进中国式现代化的生力军，是高质量发展的重要基础。为帮助广大经营主体"
    "及时了解政策、用好政策，本网对《若干措施》的主要内容进行梳理，供读者参考。"
)
LIGHT_EDITS = [
    ("记者从", "从"),
    ("着力破解", "着力解决"),
    ("进一步激发", "充分激发"),
    ("38.6万户", "三十八点六万户"),
    ("500亿元", "五百亿元"),
    ("3000元、2000元", "三千元、两千元"),
    ("2亿元", "两亿元"),
    ("1000万元", "一千万元"),
    ("防止和纠正", "防范和纠正"),
    ("面对面", "当面"),
    ("3个工作日", "三个工作日"),
    ("15个工作日", "十五个工作日"),
]


def with_boilerplate(text: str) -> str:
    return "\n".join([HEADER, text, *TRAILER])


def dropped(i: int) -> str:
    return article(BASE_PARAS[:i] + BASE_PARAS[i + 1 :], BASE_TITLE)


def edited(text: str) -> str:
    """Every LIGHT_EDITS change the text has room for (all of them in BASE)."""
    applied = 0
    for old, new in LIGHT_EDITS:
        if old in text:
            text = text.replace(old, new, 1)
            applied += 1
    assert applied >= len(LIGHT_EDITS) - 2
    return text


def truncated(text: str, share: float) -> str:
    return text[: int(len(text) * share)]


GROUPED = {
    "spacing and punctuation widths": respaced(BASE),
    "boilerplate lines": with_boilerplate(BASE),
    "longest paragraph dropped": dropped(max(range(7), key=lambda i: len(BASE_PARAS[i]))),
    "editor's note added": article([EDITOR_NOTE, *BASE_PARAS], BASE_TITLE),
    "light edits": edited(BASE),
    "truncated to 70%": truncated(BASE, 0.7),
    "boilerplate + dropped + edited": with_boilerplate(edited(dropped(3))),
}

KEPT_APART = {
    "two reports of one meeting": (MEETING_A, MEETING_B),
    "series parts 1 and 2": (SERIES[0], SERIES[1]),
    "series parts 1 and 3": (SERIES[0], SERIES[2]),
    "series parts 2 and 3": (SERIES[1], SERIES[2]),
    "notices from one template": (NOTICE_SAFETY, NOTICE_FOOD),
    "truncated to 35%": (BASE, truncated(BASE, 0.35)),
    "unrelated: policy vs meeting": (BASE, MEETING_A),
    "unrelated: policy vs notice": (BASE, NOTICE_SAFETY),
    "unrelated: meeting vs series": (MEETING_B, SERIES[0]),
}


def exact_jaccard(a: str, b: str, k: int = SHINGLE) -> float:
    """The quantity signatures estimate, computed the slow way."""
    sa, sb = _shingles(normalize(a), k), _shingles(normalize(b), k)
    return len(sa & sb) / len(sa | sb)


def _shingles(text: str, k: int) -> set[str]:
    return {text[i : i + k] for i in range(len(text) - k + 1)}


# ---------------------------------------------------------------------------------------
# normalize / fingerprint
# ---------------------------------------------------------------------------------------


def test_normalize_keeps_only_the_characters_in_order() -> None:
    text = "　　第一条　本办法自２０２４年１月１日起施行。\r\n"
    assert normalize(text) == "第一条本办法自2024年1月1日起施行"
    text = "《若干措施》（以下简称“措施”）…… GDP增长5.3%"
    assert normalize(text) == "若干措施以下简称措施gdp增长53"
    assert normalize("") == normalize(" \n\t　") == ""


def test_spacing_and_width_variants_share_the_fingerprint() -> None:
    variant = GROUPED["spacing and punctuation widths"]
    assert variant != BASE
    assert normalize(variant) == normalize(BASE)
    assert fingerprint(variant) == fingerprint(BASE)
    assert fingerprint(edited(BASE)) != fingerprint(BASE)


def test_normalize_is_idempotent_on_the_corpus() -> None:
    for text in [BASE, MEETING_A, *SERIES, NOTICE_SAFETY, *GROUPED.values()]:
        once = normalize(text)
        assert normalize(once) == once


def test_punctuation_dropped_before_nfkc_is_safe() -> None:
    """Each character the fast path drops before NFKC must be one NFKC-then-strip drops
    too and must not combine with a neighbour; then both orders give the same text."""

    def reference(body: str) -> str:
        text = unicodedata.normalize("NFKC", body).casefold()
        return re.sub(r"[\W_]+", "", text)

    dropped_early = [chr(c) for c in range(0x10000) if dedup._PUNCT_SPACE.fullmatch(chr(c))]
    assert len(dropped_early) > 250
    for ch in dropped_early:
        assert unicodedata.combining(ch) == 0, hex(ord(ch))
        assert reference(ch) == "", hex(ord(ch))
    for c in range(0x10000):
        if 0xD800 <= c < 0xE000:
            continue
        text = f"中{chr(c)}文A"
        assert normalize(text) == reference(text), hex(c)


# ---------------------------------------------------------------------------------------
# Both sides of THRESHOLD
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(GROUPED))
def test_republished_copies_are_the_same_work(name: str) -> None:
    copy = GROUPED[name]
    a, b = signature(BASE), signature(copy)
    assert is_same_work(a, b), (name, similarity(a, b))
    assert is_same_work(b, a)
    # Comfortably above, not by luck: the estimate tracks the exact Jaccard.
    assert exact_jaccard(BASE, copy) >= THRESHOLD + 0.15
    assert abs(similarity(a, b) - exact_jaccard(BASE, copy)) < 0.1


@pytest.mark.parametrize("i", range(len(BASE_PARAS)))
def test_any_one_dropped_paragraph_keeps_the_work(i: int) -> None:
    assert is_same_work(signature(BASE), signature(dropped(i)))


@pytest.mark.parametrize("name", list(KEPT_APART))
def test_different_articles_are_kept_apart(name: str) -> None:
    left, right = KEPT_APART[name]
    a, b = signature(left), signature(right)
    assert not is_same_work(a, b), (name, similarity(a, b))
    assert exact_jaccard(left, right) <= THRESHOLD - 0.1
    assert abs(similarity(a, b) - exact_jaccard(left, right)) < 0.1


def test_kept_apart_cases_really_share_text() -> None:
    """The hard cases are hard: they share names, a title, whole paragraphs or clauses."""
    assert exact_jaccard(NOTICE_SAFETY, NOTICE_FOOD) > 0.25
    assert exact_jaccard(SERIES[0], SERIES[1]) > 0.15
    assert exact_jaccard(MEETING_A, MEETING_B) > 0.03
    assert exact_jaccard(BASE, MEETING_A) < 0.02


def test_shingle_length_separates_best() -> None:
    """Why SHINGLE is 5: it leaves the widest gap between the least similar republished
    copy and the most similar different article (shorter shingles let shared 政务
    phrasing count; longer ones let each edit break more shingles)."""

    def gap(k: int) -> float:
        grouped = min(exact_jaccard(BASE, copy, k) for copy in GROUPED.values())
        apart = max(exact_jaccard(left, right, k) for left, right in KEPT_APART.values())
        return grouped - apart

    gaps = {k: gap(k) for k in (3, 4, 5, 6)}
    assert max(gaps, key=gaps.__getitem__) == SHINGLE
    assert gaps[SHINGLE] > 0.3


def test_near_duplicates_share_a_band_key_and_unrelated_do_not() -> None:
    base_keys = set(band_keys(signature(BASE)))
    for copy in GROUPED.values():
        assert base_keys & set(band_keys(signature(copy)))
    assert not base_keys & set(band_keys(signature(MEETING_A)))
    assert not base_keys & set(band_keys(signature(NOTICE_SAFETY)))


def test_best_match_picks_the_most_similar_work() -> None:
    sig = signature(edited(BASE))
    candidates = [
        ("meeting", signature(MEETING_A)),
        ("truncated", signature(truncated(BASE, 0.7))),
        ("base", signature(BASE)),
        ("series", signature(SERIES[0])),
    ]
    assert best_match(sig, candidates) == "base"
    assert best_match(sig, candidates[:1] + candidates[3:]) is None
    assert best_match(sig, []) is None


# ---------------------------------------------------------------------------------------
# Short bodies: exact only
# ---------------------------------------------------------------------------------------


def test_short_bodies_are_grouped_only_by_fingerprint() -> None:
    short = "关于调整2024年端午节假期安排的通知。"
    near = "关于调整2024年端午节假期安排的公告。"
    assert len(normalize(short)) < MIN_CHARS
    a, b = signature(short), signature(near)
    assert similarity(a, b) > 0.5
    assert not is_same_work(a, a)
    assert not is_same_work(a, b)
    assert band_keys(a) == []
    assert not groupable(short)
    assert groupable(BASE)
    assert best_match(a, [("x", a)]) is None
    assert fingerprint(short) == fingerprint(short.replace("。", "."))


@pytest.mark.parametrize("body", ["", "。", "通知", "ab", "第一条", "x" * 4, "x" * 5])
def test_signature_of_tiny_bodies(body: str) -> None:
    sig = signature(body)
    assert len(sig.values) == NUM_PERM
    assert sig.length == len(normalize(body))
    assert signature_from_bytes(signature_to_bytes(sig)) == sig


def test_minimum_length_is_inclusive() -> None:
    text = normalize(BASE)[:MIN_CHARS]
    sig = signature(text)
    assert sig.length == MIN_CHARS
    assert is_same_work(sig, sig)
    assert len(band_keys(sig)) == BANDS
    assert not is_same_work(sig, signature(text[:-1]))


# ---------------------------------------------------------------------------------------
# Stability and storage
# ---------------------------------------------------------------------------------------

PINNED_TEXT = "在加强权益保护方面，《若干措施》强调，依法平等保护民营企业产权和企业家合法权益。"


def test_signature_is_pinned() -> None:
    """Signatures and band keys are stored: any change in hashing must be deliberate
    (bump dedup.SCHEME) and shows up here."""
    assert signature(BASE).values[:6] == PINNED_VALUES
    assert band_keys(signature(BASE))[:3] == PINNED_KEYS
    assert fingerprint(PINNED_TEXT) == PINNED_FINGERPRINT


PINNED_VALUES = (874919, 8747565, 17489854, 26045586, 34862787, 42992096)
PINNED_KEYS = [4330820808982616442, 5113579128768343158, 2656701856119837972]
PINNED_FINGERPRINT = "965e6de215ddcc7c788e0a3cee590b59eeaf8bcbbafd572e7a95bf77659c80a9"


def test_window_hashes_follow_the_documented_formula() -> None:
    """h = ((sum a_j * code point) mod 2**40) >> 10 for every window, whatever the script."""
    text = normalize(BASE) + "ÀΩЖ𠀀𪚥" + "x" * 3 + "\U0010fffd" * 6
    windows = [text[i : i + SHINGLE] for i in range(len(text) - SHINGLE + 1)]
    multipliers = dedup._MULTIPLIERS
    expected = [
        (sum(a * ord(ch) for a, ch in zip(multipliers, w, strict=True)) % 2**40) >> 10
        for w in windows
    ]
    assert dedup._window_hashes(text) == expected


def test_bins_hold_their_minimum_or_borrow_from_the_next_bin() -> None:
    text = normalize(MEETING_B)
    hashes = sorted(set(dedup._window_hashes(text)))
    values = signature(text).values
    for b, value in enumerate(values):
        own = [h for h in hashes if h >> 23 == b]
        if own:
            assert value == own[0]
        else:
            later = [h for h in hashes if h >> 23 > b] or hashes
            assert value == later[0]


def test_bytes_round_trip() -> None:
    sig = signature(BASE)
    data = signature_to_bytes(sig)
    assert len(data) == 8 + 4 * NUM_PERM
    assert signature_from_bytes(data) == sig
    with pytest.raises(ValueError):
        signature_from_bytes(data[:-4])
    with pytest.raises(ValueError):
        signature_from_bytes(b"\x02" + data[1:])


def test_band_keys_fit_sqlite_integer() -> None:
    keys = band_keys(signature(BASE))
    assert len(keys) == BANDS == len(set(keys))
    assert all(0 <= k < 2**63 for k in keys)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE bands (key INTEGER NOT NULL, work INTEGER NOT NULL)")
    db.executemany("INSERT INTO bands VALUES (?, 1)", [(k,) for k in keys])
    assert [k for (k,) in db.execute("SELECT key FROM bands ORDER BY rowid")] == keys
    # The band index is part of the key: equal rows in different bands give different keys.
    flat = Signature((7,) * NUM_PERM, 100)
    assert len(set(band_keys(flat))) == BANDS


def test_digest_is_fingerprint_and_signature() -> None:
    assert digest(BASE) == (fingerprint(BASE), signature(BASE))


# ---------------------------------------------------------------------------------------
# Estimate quality and scale (no timing: speed is measured in bench/, not here)
# ---------------------------------------------------------------------------------------


def test_estimate_tracks_exact_jaccard_across_the_range() -> None:
    """Truncations of every article sweep the similarity from 0.2 to 1: the estimate stays
    within a few standard errors (0.044 at J=0.5) of the truth and is not biased."""
    errors = []
    for text in [BASE, MEETING_A, MEETING_B, *SERIES, NOTICE_SAFETY, NOTICE_FOOD]:
        sig = signature(text)
        for share in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
            part = truncated(text, share)
            errors.append(similarity(sig, signature(part)) - exact_jaccard(text, part))
    assert max(map(abs, errors)) < 0.15
    assert abs(sum(errors) / len(errors)) < 0.02


def test_long_bodies_fill_every_bin_in_one_pass() -> None:
    """A million characters go through the same C-level steps (no per-shingle Python
    loop to make it crawl) and leave no bin empty."""
    text = "".join(SERIES_MIDDLES[0] + SERIES_MIDDLES[1] + MEETING_PROVINCE + BASE_PARAS)
    body = "".join(text[i:] + text[:i] for i in range(0, 1000, 3))[:1_000_000]
    sig = signature(body)
    assert sig.length == len(normalize(body))
    assert [v >> 23 for v in sig.values] == list(range(NUM_PERM))


def test_similarities_in_one_pass_equal_similarity_one_by_one() -> None:
    """The archive scores its near-duplicate candidates together; the scores are the same."""
    bodies = [
        "六月二十四日，全省机关党建工作推进会在省城召开。" * 4,
        "六月二十四日，全省机关党建工作推进会在省城召开。" * 3 + "会议要求压实责任。",
        "本报讯 今年以来，市交通运输局围绕农村公路提档升级，新改建道路一百二十公里。" * 2,
    ]
    sigs = [dedup.digest(body)[1] for body in bodies]
    stored = [dedup.signature_to_bytes(s) for s in sigs]
    for sig in sigs:
        assert dedup.similarities(sig, stored) == [dedup.similarity(sig, s) for s in sigs]
    assert dedup.similarities(sigs[0], []) == []
    with pytest.raises(ValueError):
        dedup.similarities(sigs[0], [stored[0][:-4]])


# ---------------------------------------------------------------------------------------
# Boundaries: THRESHOLD and MIN_CHARS are inclusive, ties go to the first candidate
# ---------------------------------------------------------------------------------------


def _sig(equal_to: Signature | None, shared: int, length: int = 100, fill: int = 0) -> Signature:
    """A signature sharing exactly ``shared`` of its bins with ``equal_to`` (or with the
    signature whose bin i holds i)."""
    base = equal_to.values if equal_to is not None else tuple(range(NUM_PERM))
    values = tuple(v if i < shared else 10**6 + fill + i for i, v in enumerate(base))
    return Signature(values, length)


def test_similarity_exactly_at_the_threshold_is_the_same_work() -> None:
    a = _sig(None, NUM_PERM)
    half = _sig(a, int(THRESHOLD * NUM_PERM))
    below = _sig(a, int(THRESHOLD * NUM_PERM) - 1)
    assert similarity(a, half) == THRESHOLD
    assert is_same_work(a, half) and not is_same_work(a, below)
    assert best_match(a, [("half", half)]) == "half"
    assert best_match(a, [("below", below)]) is None


def test_best_match_takes_the_first_of_equally_similar_candidates() -> None:
    a = _sig(None, NUM_PERM)
    first, second = _sig(a, 100, fill=1), _sig(a, 100, fill=2)
    assert best_match(a, [("first", first), ("second", second)]) == "first"
    better = _sig(a, 101)
    assert best_match(a, [("first", first), ("better", better), ("second", second)]) == "better"


def test_best_match_skips_short_candidates_and_reads_on() -> None:
    a = _sig(None, NUM_PERM)
    short = _sig(a, NUM_PERM, length=MIN_CHARS - 1)
    at_least = _sig(a, 90, length=MIN_CHARS)
    assert best_match(a, [("short", short), ("at least", at_least)]) == "at least"
    assert best_match(_sig(None, NUM_PERM, length=MIN_CHARS), [("x", at_least)]) == "x"
    assert best_match(_sig(None, NUM_PERM, length=MIN_CHARS - 1), [("x", at_least)]) is None


def test_groupable_from_exactly_min_chars() -> None:
    text = normalize(BASE)
    assert groupable(text[:MIN_CHARS]) and not groupable(text[: MIN_CHARS - 1])


def test_a_stored_signature_of_the_wrong_size_or_scheme_is_refused_by_name() -> None:
    data = signature_to_bytes(signature(BASE))
    with pytest.raises(ValueError, match=r"^signature must be 520 bytes$"):
        signature_from_bytes(data + b"\0\0\0\0")
    with pytest.raises(ValueError, match=r"^signature scheme 2, expected 1$"):
        signature_from_bytes(b"\x02" + data[1:])
    with pytest.raises(ValueError, match=r"^signature scheme 2, expected 1$"):
        dedup.similarities(signature(BASE), [b"\x02" + data[1:]])


def test_the_hashing_constants_are_derived_as_stored_signatures_were() -> None:
    """Computed when the module loads; derived again here from the same label, they must give
    what signatures and band keys already stored were made with."""
    constants = dedup._constants("window", SHINGLE)
    assert constants[0] == 0xBF2C5ACB07A1D128
    assert tuple((c >> 24) | 1 for c in constants) == dedup._MULTIPLIERS
    assert all(0 <= c < 2**64 for c in constants) and len(set(constants)) == SHINGLE
    assert tuple(c | 1 for c in dedup._constants("band-row", dedup.ROWS)) == (dedup._BAND_ROW_MULT)
    assert tuple(dedup._constants("band", BANDS)) == dedup._BAND_OFFSET


def test_a_body_shorter_than_a_shingle_is_one_window_padded_with_nul() -> None:
    """Pinned: tiny bodies' signatures are stored like any other."""
    assert dedup._padded("ab") == "ab\0\0\0"
    assert dedup._padded("abcde") == "abcde"
    assert signature("ab").values == (531959695,) * NUM_PERM
