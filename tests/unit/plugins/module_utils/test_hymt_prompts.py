# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/hymt_prompts.py against the prompts as HY-MT's README prints them.

The expected prompts are typed here from the README (Tencent-Hunyuan/HY-MT, "Prompts"), with the
README's own example ("It's on the house." into Chinese) where it gives one.
"""

from __future__ import annotations

import pytest

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import hymt_prompts as hp


def test_other_to_chinese_uses_the_zh_xx_template():
    # The README's template for ZH<=>XX; its transformers snippet uses the XX<=>XX wording for the
    # same pair, but the template section is the documented rule.
    assert hp.build_prompt("It\u2019s on the house.", "zh", "en") == (
        "将以下文本翻译为中文，注意只需要输出翻译后的结果，不要额外解释：\n\nIt\u2019s on the house."
    )


def test_chinese_side_uses_the_chinese_template_with_the_chinese_language_name():
    assert hp.build_prompt("今天天气很好。", "en") == (
        "将以下文本翻译为英语，注意只需要输出翻译后的结果，不要额外解释：\n\n今天天气很好。")
    assert hp.build_prompt("Good morning", "zh-Hant", "en") == (
        "将以下文本翻译为繁体中文，注意只需要输出翻译后的结果，不要额外解释：\n\nGood morning")


def test_between_two_other_languages_uses_the_english_template():
    assert hp.build_prompt("Guten Morgen", "fr", "de") == (
        "Translate the following segment into French, without additional explanation.\n\nGuten Morgen")
    # Without a source language, a text with no Han characters is not Chinese.
    assert hp.build_prompt("Guten Morgen", "ja").startswith("Translate the following segment into Japanese,")


def test_terminology_template():
    prompt = hp.build_prompt("The pod runs in the mesh.", "zh", terms={"pod": "容器组", "mesh": "网格"})
    assert prompt == (
        "参考下面的翻译：\npod 翻译成 容器组\nmesh 翻译成 网格\n\n"
        "将以下文本翻译为中文，注意只需要输出翻译后的结果，不要额外解释：\nThe pod runs in the mesh.")


def test_context_template():
    prompt = hp.build_prompt("It is ready.", "zh", context="The model server loads weights.")
    assert prompt == (
        "The model server loads weights.\n参考上面的信息，把下面的文本翻译成中文，注意不需要翻译上文，也不要额外解释：\nIt is ready.")


def test_formatted_template_and_extraction():
    prompt = hp.build_prompt("Click <sn>Save</sn> now", "zh", formatted=True)
    assert prompt.startswith("将以下<source></source>之间的文本翻译为中文，注意只需要输出翻译后的结果")
    assert prompt.endswith("输出格式为：<target>str</target>\n\n<source>Click <sn>Save</sn> now</source>")
    assert hp.extract_translation(" <target>现在点击<sn>保存</sn></target>\n", formatted=True) == "现在点击<sn>保存</sn>"
    # An answer cut off by max_tokens before </target> still yields its text.
    assert hp.extract_translation("<target>现在点击", formatted=True) == "现在点击"
    assert hp.extract_translation("no tag", formatted=True) == "no tag"


@pytest.mark.parametrize("kwargs, message", [
    ({"text": "hi", "target": "klingon"}, "unsupported language 'klingon'"),
    ({"text": "hi", "target": "zh", "source": "xx"}, "unsupported language 'xx'"),
    ({"text": "  ", "target": "zh"}, "empty"),
    ({"text": "hi", "target": "en", "source": "en"}, "both 'en'"),
    ({"text": "hi", "target": "zh", "terms": {"a": "b"}, "context": "c"}, "terms and context cannot be combined"),
])
def test_refused_requests(kwargs, message):
    with pytest.raises(hp.PromptError, match=message):
        hp.build_prompt(**kwargs)


def test_languages_table_size_and_messages():
    # The README lists 33 languages plus 5 ethnic and dialect variants.
    assert len(hp.LANGUAGES) == 38
    assert hp.messages("p") == [{"role": "user", "content": "p"}]
    assert hp.RECOMMENDED_SAMPLING == {"top_k": 20, "top_p": 0.6, "repetition_penalty": 1.05, "temperature": 0.7}
