# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The prompts HY-MT1.5 was trained on, and the sampling Tencent recommends for it.

HY-MT1.5 has no system prompt: each request is ONE user message built from the templates of the
model's README (Chinese<->other, other<->other, terminology, context, formatted text). The model
answers with the translation only; ``extract_translation`` unwraps the ``<target>`` tag of the
formatted template.
"""

from __future__ import annotations

import re

# code: (English name, Chinese name) for the 33 languages and 5 variants HY-MT1.5 supports.
LANGUAGES = {
    "zh": ("Chinese", "中文"),
    "en": ("English", "英语"),
    "fr": ("French", "法语"),
    "pt": ("Portuguese", "葡萄牙语"),
    "es": ("Spanish", "西班牙语"),
    "ja": ("Japanese", "日语"),
    "tr": ("Turkish", "土耳其语"),
    "ru": ("Russian", "俄语"),
    "ar": ("Arabic", "阿拉伯语"),
    "ko": ("Korean", "韩语"),
    "th": ("Thai", "泰语"),
    "it": ("Italian", "意大利语"),
    "de": ("German", "德语"),
    "vi": ("Vietnamese", "越南语"),
    "ms": ("Malay", "马来语"),
    "id": ("Indonesian", "印尼语"),
    "tl": ("Filipino", "菲律宾语"),
    "hi": ("Hindi", "印地语"),
    "zh-Hant": ("Traditional Chinese", "繁体中文"),
    "pl": ("Polish", "波兰语"),
    "cs": ("Czech", "捷克语"),
    "nl": ("Dutch", "荷兰语"),
    "km": ("Khmer", "高棉语"),
    "my": ("Burmese", "缅甸语"),
    "fa": ("Persian", "波斯语"),
    "gu": ("Gujarati", "古吉拉特语"),
    "ur": ("Urdu", "乌尔都语"),
    "te": ("Telugu", "泰卢固语"),
    "mr": ("Marathi", "马拉地语"),
    "he": ("Hebrew", "希伯来语"),
    "bn": ("Bengali", "孟加拉语"),
    "ta": ("Tamil", "泰米尔语"),
    "uk": ("Ukrainian", "乌克兰语"),
    "bo": ("Tibetan", "藏语"),
    "kk": ("Kazakh", "哈萨克语"),
    "mn": ("Mongolian", "蒙古语"),
    "ug": ("Uyghur", "维吾尔语"),
    "yue": ("Cantonese", "粤语"),
}
CHINESE = ("zh", "zh-Hant", "yue")

# Tencent's recommended sampling for HY-MT1.5 (model README); the model has no default system prompt.
RECOMMENDED_SAMPLING = {"top_k": 20, "top_p": 0.6, "repetition_penalty": 1.05, "temperature": 0.7}

ZH_TEMPLATE = "将以下文本翻译为{target}，注意只需要输出翻译后的结果，不要额外解释：\n\n{text}"
XX_TEMPLATE = "Translate the following segment into {target}, without additional explanation.\n\n{text}"
TERMS_TEMPLATE = "参考下面的翻译：\n{terms}\n\n将以下文本翻译为{target}，注意只需要输出翻译后的结果，不要额外解释：\n{text}"
TERM_LINE = "{source} 翻译成 {target}"
CONTEXT_TEMPLATE = "{context}\n参考上面的信息，把下面的文本翻译成{target}，注意不需要翻译上文，也不要额外解释：\n{text}"
FORMATTED_TEMPLATE = (
    "将以下<source></source>之间的文本翻译为{target}，注意只需要输出翻译后的结果，不要额外解释，"
    "原文中的<sn></sn>标签表示标签内文本包含格式信息，需要在译文中相应的位置尽量保留该标签。"
    "输出格式为：<target>str</target>\n\n<source>{text}</source>"
)
_TARGET_TAG_RE = re.compile(r"<target>(.*?)(</target>|$)", re.S)
_HAN_RE = re.compile(u"[\u4e00-\u9fff]")


class PromptError(ValueError):
    """A translation request that no HY-MT1.5 template can express."""


def language(code):
    """(English name, Chinese name) of a language code; PromptError lists the codes otherwise."""
    try:
        return LANGUAGES[code]
    except KeyError:
        raise PromptError("unsupported language %r; HY-MT1.5 supports %s" % (code, ", ".join(sorted(LANGUAGES))))


def involves_chinese(text, target, source=None):
    """Whether the Chinese-instruction template applies: Chinese on either side of the translation.

    Without a source language, Han characters in the text count as a Chinese source.
    """
    if target in CHINESE:
        return True
    if source is not None:
        return source in CHINESE
    return bool(_HAN_RE.search(text))


def build_prompt(text, target, source=None, terms=None, context=None, formatted=False):
    """The user message asking HY-MT1.5 to translate ``text`` into ``target`` (a language code).

    ``terms`` maps source terms to imposed translations; ``context`` is text the model may read but
    must not translate; ``formatted`` keeps ``<sn></sn>`` markup. Only one of the three can be used
    at a time, as the published templates do not combine.
    """
    if not isinstance(text, str) or not text.strip():
        raise PromptError("the text to translate is empty")
    english_name, chinese_name = language(target)
    if source is not None:
        language(source)
        if source == target:
            raise PromptError("source and target language are both %r" % target)
    chosen = [name for name, value in (("terms", terms), ("context", context), ("formatted", formatted)) if value]
    if len(chosen) > 1:
        raise PromptError("%s cannot be combined: HY-MT1.5 has one template for each" % " and ".join(chosen))
    if terms:
        lines = "\n".join(TERM_LINE.format(source=s, target=t) for s, t in terms.items())
        return TERMS_TEMPLATE.format(terms=lines, target=chinese_name, text=text)
    if context:
        return CONTEXT_TEMPLATE.format(context=context, target=chinese_name, text=text)
    if formatted:
        return FORMATTED_TEMPLATE.format(target=chinese_name, text=text)
    if involves_chinese(text, target, source):
        return ZH_TEMPLATE.format(target=chinese_name, text=text)
    return XX_TEMPLATE.format(target=english_name, text=text)


def messages(prompt):
    """The chat messages of one request: a single user turn, no system prompt."""
    return [{"role": "user", "content": prompt}]


def extract_translation(answer, formatted=False):
    """The translation in a model answer; for formatted requests, the inside of ``<target>``."""
    answer = (answer or "").strip()
    if formatted:
        match = _TARGET_TAG_RE.search(answer)
        if match:
            return match.group(1).strip()
    return answer
