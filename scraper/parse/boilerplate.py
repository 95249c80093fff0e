"""Classifiers for lines that are page furniture rather than article text.

They look at one line's wording only (keywords that every Chinese CMS uses), so they carry
over to templates never seen; position decides elsewhere whether a match really is noise.
"""

from __future__ import annotations

import functools
import re

from .dates import DATE
from .dom import squash

# The classifiers the parser asks most often are remembered by text: one line is asked about
# several times (scoring, cutting, stopping), and a site's navigation and footer lines come
# back on every one of its pages.
_remember = functools.lru_cache(maxsize=4096)

PUNCT = frozenset("，。；！？、：“”…")
_PUNCT = tuple(PUNCT)
# Clause punctuation, a sentence's mark: searched for, not counted char by char (these run on
# every line of every page, and a generator over a paragraph's characters was their cost).
_CLAUSE = re.compile("[，。；！？]")
_CJK = re.compile(r"[\u4e00-\u9fff]")

# Field labels of meta lines and credit lines.
LABEL = (
    r"(?:责任编辑|编辑|责编|主编|选稿|审核|审校|校对|监制|制作|策划|统筹|排版|美编|"
    r"(?:信息|稿件|文章|本文|新闻)?来源(?:于)?|来自|转自|作者|记者|撰文|执笔|摄影|通讯员|"
    r"(?:发布|发表|更新|发稿)?(?:时间|日期)|发布|浏览(?:次数|量)?|点击(?:数|量|率)?|阅读(?:数|量)?|"
    r"字号|打印|分享(?:到)?|关闭(?:窗口)?|收藏|评论|举报)"
)
META_LABEL = re.compile(LABEL + r"\s*[:：︰丨|｜︱/]")
# ``(?!(?<=\s)\s)``: the 大中小 alternative is tried where a whitespace run starts, not again at
# every position inside it (quadratic in the run); a later position would match no more.
_META_BARE = re.compile(
    r"(?:字号|打印本?页|关闭窗口|分享到|(?!(?<=\s)\s)【?\s*大\s*中\s*小\s*】?|浏览次数|阅读次数|点击数|"
    r"小\s*中\s*大|收藏本?页|扫一扫|返回顶部|【\s*打印\s*】|\[\s*打印\s*\]|纠错|举报)"
)
_SIGNATURE_DATE = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
_EDITOR = re.compile(
    r"^[\[【(（\s]*(?:责任编辑|编辑|责编|选稿|审核|校对|监制)(?:\s*[:：︰丨|｜︱/]|\s+\S{2,4}(?:\s|$))"
)
_CREDIT = re.compile(
    r"记者|来源|编辑|作者|整合|整理|编排|校对|排版|摄影|通讯员|供稿|审核|责编|采写|监制|出品"
)
_CHIEF = re.compile(r"^[\[【(（\s]*(?:责任编辑|责编)\s*[:：︰丨|｜︱/]")
_BYLINE = re.compile(
    r"^[\[【(（□■\s]*(?:[^\s，。,]{0,12}记者|作者|文\s*/\s*图|文\s*[/丨|｜]|图\s*/\s*文|撰文|执笔|"
    r"摄影|通讯员|供稿|采写)"
)
_ORIG_TITLE = re.compile(r"^[\[【(（\s]*(?:本文)?原(?:标)?题(?:为|是)?\s*[:：《]")
# Possessive \s*+: two runs of spaces around an optional mark would otherwise be split every way
# before failing (quadratic); a run given back could only be taken by the next \s* anyway.
_PRINT_ED = re.compile(
    r"^[\[【(（]?\s*+(?:来源\s*+[:：])?\s*+《[^》]{1,20}》\s*+[（(]?\s*+\d{4}\s*+年\s*+\d{1,2}\s*+"
    r"月\s*+\d{1,2}\s*+日\s*+(?:第?\s*+[\dA-Za-z]+\s*+版)?\s*+[）)]?\s*+$"
)
_NAV = re.compile(
    r"^(?:上一篇|下一篇|上一条|下一条|上一页|下一页|返回顶部|返回首页|返回列表|关闭窗口|打印本页|"
    r"打印文章|【\s*关闭\s*】|返回[^\s，。,]{1,8}(?:[，,]\s*查看更多|首页|网)?\s*$)"
)
_SHARE = re.compile(r"(?:分享到|扫一扫|扫描二维码|二维码|长按识别|微信扫|关注我们|手机看|手机扫)")
_QR = re.compile(
    r"(?:扫描|扫码|识别)\S{0,10}二维码|二维码\S{0,10}关注|关注\S{0,12}(?:公众号|微信|微博)"
)
# "More on our site" and social tags closing a republished article (#话题# @账号). Each tag
# starts with a character the one before cannot hold: no backtracking blow-up on "@@@@...".
_PROMO = re.compile(
    r"更多\S{0,6}(?:内容|资讯|精彩|新闻)\S{0,10}(?:关注|访问|登录)|^(?:#[^#\s]{1,30}#\s*|@[^@#\s]{1,20}\s*)+$"
)
RELATED = re.compile(
    r"^[\s【\[]*(?:相关新闻|相关阅读|相关文章|相关链接|相关报道|相关稿件|相关专题|延伸阅读|推荐阅读|"
    r"热点推荐|热门推荐|精彩推荐|猜你喜欢|更多精彩|热门文章|热点新闻|你可能感兴趣|为您推荐|"
    r"相关推荐|今日推荐|编辑推荐|往期回顾|热门阅读|最新文章|最新新闻|推荐新闻)"
)
COMMENTS = re.compile(
    r"(?:网友评论|热门评论|最热评论|最新评论|精彩评论|全部评论|我要评论|发表评论|我来说两句|"
    r"评论\s*[（(]\s*\d+\s*[)）]|(?<!\d)\d+\s*条评论|文明上网|理性发言|查看全部\s*+\d*\s*+条?评论|"
    r"我要跟帖|跟帖)"
)  # (?<!\d), \s*+: a long run of digits or spaces is not rescanned from each of its positions
DISCLAIMER = re.compile(
    r"(?:免责声明|版权声明|特别声明|转载声明|平台声明|法律声明|侵权声明|反侵权公告|版权与免责声明|"
    r"^[【\[“\"]?声明\s*[:：]|版权\S{0,6}(?:禁止|不得)\S{0,4}转载|(?:未经|未获)\S{0,8}(?:授权|许可)\S{0,6}"
    r"(?:不得|禁止|严禁)\S{0,4}转载|转载请注明|作品的中文相关权益|仅代表作者本人观点)"
)
FOOTER = re.compile(
    r"(?:版权所有|版\s*权\s*所\s*有|Copyright|copyright|COPYRIGHT|©|\(C\)|ICP备|ICP证|"
    r"主办(?:单位)?\s*[:：]|承办(?:单位)?\s*[:：]|All Rights Reserved|网站标识码|公网安备|"
    r"违法和不良信息举报|网站地图|关于我们|联系我们)"
)


# The record table that government information-disclosure (信息公开) pages put above a
# document: 索引号 / 分类 / 发文机关 / 成文日期 / 标题 / 发文字号 ..., each label with its value on
# the same line or the next, often spaced out to align (索 引 号：).
_RECORD_LABEL = re.compile(
    r"^(?:索引号|(?:主题|体裁|组配|服务对象|内容|信息)?分类|发文机关|发布机构|发布机关|成文日期|"
    r"发文日期|发布日期|生成日期|标题|名称|文号|发文字号|主题词|关键词|有效性|效力状态|时效|"
    r"公开方式|公开范围|公开时限|所属机构|信息类别)[:：]"
)
_RECORD_VALUE = re.compile(
    r"^(?:\S{1,20}〔\d{4}〕\d+号|\d{4}\s*[-年./]\s*\d{1,2}\s*[-月./]\s*\d{1,2}日?)$"
)


def record_label(text: str) -> str | None:
    """For a 信息公开 record-table line (``索 引 号：11220...``), what follows its label (maybe
    empty: the value is on the next line); None for any other line."""
    squashed = squash(text)
    m = _RECORD_LABEL.match(squashed) if len(squashed) <= 80 else None
    return squashed[m.end() :] if m else None


def is_record_value(text: str) -> bool:
    """A bare document number (吉政发〔2022〕1号) or date: a record-table cell without its label."""
    return bool(_RECORD_VALUE.match(text.strip()))


def cjk_count(text: str) -> int:
    return len(_CJK.findall(text))


def punct_count(text: str) -> int:
    return sum(map(text.count, _PUNCT))


@_remember
def is_prose(text: str) -> bool:
    """A sentence-like line: enough characters and some clause punctuation."""
    n = len(text)
    if n < 8:
        return False
    return _CLAUSE.search(text) is not None and (n >= 16 or text[-1] in "。！？”")


_LABELLED = re.compile(r"[（(【\[]\s*(?:本文|文章|稿件)?(?:来源|作者|编辑|责任编辑)\s*[:：]")


def is_meta(text: str) -> bool:
    """A meta line: labelled publication fields, counters, print/share controls."""
    if len(text) > 120:
        return False
    if _LABELLED.match(text):
        return True
    if META_LABEL.search(text) and (DATE.search(text) or len(text) < 60):
        return len(META_LABEL.findall(text)) >= 2 or len(text) < 60 or bool(DATE.search(text))
    if _META_BARE.search(text) and len(text) < 50:
        return True
    if DATE.search(text) and len(text) < 40 and punct_count(text.replace("：", "")) == 0:
        # A bare 2022年1月27日 line is a document's signature date, not a meta line.
        return not _SIGNATURE_DATE.fullmatch(text)
    return False


def is_editor(text: str) -> bool:
    return len(text) < 60 and bool(_EDITOR.search(text))


def is_credit(text: str) -> bool:
    """A short unpunctuated line of production credits (trailing 记者/来源/编辑 lines)."""
    return len(text) < 40 and _CLAUSE.search(text) is None and bool(_CREDIT.search(text))


def is_chief_editor(text: str) -> bool:
    """A 责任编辑 line: the conventional last line of an article."""
    return len(text) < 60 and bool(_CHIEF.search(text))


def is_byline(text: str) -> bool:
    """A standalone credit line (记者/作者/文/…), not a sentence that mentions a reporter."""
    if len(text) > 50 or not _BYLINE.search(text):
        return False
    return _CLAUSE.search(text) is None


def is_original_title(text: str) -> bool:
    return len(text) < 120 and bool(_ORIG_TITLE.search(text))


def is_print_edition(text: str) -> bool:
    return len(text) < 60 and bool(_PRINT_ED.search(text))


def is_nav(text: str) -> bool:
    return len(text) < 80 and bool(_NAV.search(text))


def is_share(text: str) -> bool:
    if len(text) < 40 and _SHARE.search(text):
        return True
    return len(text) < 80 and bool(_QR.search(text) or _PROMO.search(text))


def is_related(text: str) -> bool:
    return len(text) < 30 and bool(RELATED.search(text))


def is_comments(text: str) -> bool:
    """The head of a comment section (comments are prose, so density alone keeps them)."""
    return len(text) < 40 and bool(COMMENTS.search(text))


@_remember
def is_disclaimer(text: str) -> bool:
    return bool(DISCLAIMER.search(text[:60]))


@_remember
def is_footer(text: str) -> bool:
    return len(text) < 300 and bool(FOOTER.search(text))


@_remember
def is_noise(text: str) -> bool:
    """Any furniture line that never belongs in the body."""
    return (
        is_meta(text)
        or is_editor(text)
        or is_byline(text)
        or is_original_title(text)
        or is_print_edition(text)
        or is_nav(text)
        or is_share(text)
    )
