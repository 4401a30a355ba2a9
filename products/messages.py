"""Chinese words for the catalogue validator's messages (``products.schema`` and marshmallow).

The validator reports in English (``python -m products check``); a page that shows an
error beside a field in Chinese reads it through :func:`zh`. A message not listed here is
returned unchanged, so nothing is lost.
"""

from __future__ import annotations

import re

from products.sources import UNCONFIRMED

# (pattern of the English message, Chinese template with the pattern's groups)
_RULES: tuple[tuple[str, str], ...] = (
    (r"Missing data for required field\.", "必填"),
    (r"Field may not be null\.", "必填"),
    (r"Unknown field\.", "不认识的项目"),
    (r"Not a valid number\.", "请填写数字"),
    (r"Not a valid integer\.", "请填写整数"),
    (r"Not a valid string\.", "请填写文字"),
    (r"Not a valid boolean\.", "请选择是或否"),
    (r"Not a valid date\.", "请填写日期（如 2026-05-20）"),
    (r"Not a valid list\.", "请填写一组值，用逗号分隔"),
    (r"Not a valid mapping type\.", "格式有误"),
    (r"Invalid input type\.", "格式有误"),
    (r"Special numeric values \(nan or infinity\) are not permitted\.", "请填写有限的数字"),
    (r"Must be one of: (.*)\.", r"应为以下之一：\1"),
    (r"Shorter than minimum length (\d+)\.", r"至少 \1 个字"),
    (r"Longer than maximum length (\d+)\.", r"最多 \1 个字"),
    (r"Length must be between (\d+) and (\d+)\.", r"应有 \1 至 \2 项"),
    (r"String does not match expected pattern\.", "只能用小写英文字母、数字和下划线，以字母开头"),
    (
        r"Must be greater than or equal to (\S+) and less than or equal to (\S+)\.",
        r"应在 \1 至 \2 之间",
    ),
    (r"must be positive", "应大于 0"),
    (r"must be a share between 0 and 1", "应为 0 至 1 之间的比例"),
    (r"must be a yearly rate between 0 and 1", "应为 0 至 1 之间的年化比率"),
    (r"must be a whole number of fen \(2 decimals\)", "最多保留两位小数（精确到分）"),
    (r"must be a whole number", "应为整数"),
    (r"must be a finite number", "请填写有限的数字"),
    (r"must be a number, got (.*)", r"应为数字（填的是 \1）"),
    (r"must be a number", "应为数字"),
    (r"must lie within amount_min\.\.amount_max", "应在最低金额与最高金额之间"),
    (r"must lie within term_min\.\.term_max", "应在最短期限与最长期限之间"),
    (r"must not exceed amount_max", "不能高于最高金额"),
    (r"must not exceed term_max", "不能长于最长期限"),
    (r"must not exceed batch_terms\.per_firm_cap", "不能高于批次贷的单户上限"),
    (r"must not be after closes_on", "不能晚于截止日期"),
    (r"unit must be (\w+), got (\w+)", r"单位应为 \1（填的是 \2）"),
    (r"required when base is lpr_1y", "以 LPR 为基准时必填"),
    (r"required when base is fixed", "固定利率时必填"),
    (r"not used when base is lpr_1y", "以 LPR 为基准时不填"),
    (r"not used when base is fixed", "固定利率时不填"),
    (r"required when kind is (\w+)", r"补贴方式为 \1 时必填"),
    (r"not used when kind is (\w+)", r"补贴方式为 \1 时不填"),
    (r"required when batch is true", "批次贷产品必填"),
    (r"only for batch products \(batch: true\)", "只有批次贷产品才填"),
    (r"a fee subsidy needs a guarantee fee", "有担保费补贴时须填写担保费"),
    (r"give failed_zh and failed_en together", "不符合时的中英文说明须同时填写"),
    (r"use either field/op/value or any_of", "单项条件与“任一满足”只能选一种"),
    (r"use either field/op/value or all_of", "单项条件与“全部满足”只能选一种"),
    (r"any_of needs at least two entries", "“任一满足”至少要有两项"),
    (r"all_of needs at least two entries", "“全部满足”至少要有两项"),
    (r"field \(or any_of\) is required", "请选择字段（或改用“任一满足”）"),
    (r"field \(or all_of\) is required", "请选择字段（或改用“全部满足”）"),
    (r"op is required", "请选择比较方式"),
    (r"unknown field '(\w+)'", r"没有字段 \1"),
    (
        r"operator (\w+) does not apply to (\w+) field (\w+) \(use (.*)\)",
        r"比较方式 \1 不适用于字段 \3（可用：\4）",
    ),
    (r"operator (\w+) takes no value", r"比较方式 \1 不填值"),
    (r"operator (\w+) needs a value", r"比较方式 \1 须填值"),
    (r"between needs a list \[low, high\]", "介于：请填两个数，用逗号分隔（如 1, 5）"),
    (r"between needs low <= high", "介于：第一个数不能大于第二个数"),
    (r"(\w+) needs a non-empty list", r"\1：请至少填一个值，多个值用逗号分隔"),
    (r"(\[.*\]) not among (\[.*\])", r"\1 不在可选值 \2 中"),
    (r"(\w+) keys must be unique", r"\1 的代码不能重复"),
    (r"days must be different", "提醒天数不能重复"),
    (r"duplicate or reserved id (\w+)", r"条件代码 \1 重复或为保留代码"),
    (
        re.escape(UNCONFIRMED),
        "标为已确认（非演示）的数字须注明本平台以外的依据，否则请勾选“演示数据”",
    ),
)
_COMPILED = tuple((re.compile(f"^{pattern}$"), template) for pattern, template in _RULES)


def zh(message: str) -> str:
    """Return the Chinese of one validator message (each '; '-joined part worded alone)."""
    parts = []
    for part in message.split("; "):
        for pattern, template in _COMPILED:
            match = pattern.match(part.strip())
            if match:
                parts.append(match.expand(template))
                break
        else:
            parts.append(part)
    return "；".join(parts)
